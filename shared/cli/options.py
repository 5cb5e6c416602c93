"""The command line's grammar: every flag declared once with the commands where it applies (`COMMON` here, a
transport's own in its `options`), and the parser built from them; a flag given elsewhere is `misplaced`."""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Sequence

from shared import __version__
from shared.bench.presets import DESCRIPTIONS
from shared.core.config import CONCURRENCY, EXAMPLES
from shared.core.flags import Option, Part, option
from shared.core.transport import Transport
from shared.core.workload import WORKLOADS

EXIT_USAGE = 2
LOAD = "run compare request"  # the commands that start requesters
RESPONSE = "run compare serve responders"  # the commands that start responders
# A transport part's shared options, by the roles it starts (Part.server, Part.responders), whatever its name.
KINDS = {(True, True): "serve", (True, False): "broker", (False, True): "responders"}
SERVER = "<server>"  # in a help text: what the variants of the command call their server ("broker", "server")
NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")

PAYLOAD_HELP = ("echo your own values instead of the seed's text: PATH is a Python file that reqrep EXECUTES, here and "
                "before any role starts, and that defines VALUES, a dict of name to value or a list; :NAME sends that "
                "one value, otherwise they are sent in turn. Responders return each request as they received it (the "
                "mirror workload), and each reply must come back identical; a value the codec cannot carry unchanged "
                "is refused before the run starts")
COMMON: tuple[Option, ...] = (
    option("--example", parts=LOAD, choices=EXAMPLES, default="router",
           help="hello: the seed's example 1 (1 requester, 1 responder, 5 requests); router: example 2 (default)"),
    option("--requests", parts=LOAD, type=int, metavar="N", help="requests in all (default: router 100000, hello 5)"),
    option("--requesters", parts=LOAD, type=int, metavar="N", help="requesters (default: router 5, hello 1)"),
    option("--responders", parts="run compare", type=int, metavar="N", help="responders (default: router 5, hello 1)"),
    option("--responders", parts="serve responders", type=int, metavar="N", help="responders (default 5)"),
    option("--concurrency", parts=f"{RESPONSE} request", choices=CONCURRENCY, default="processes",
           help="every role a process (default), every role a thread of one process, or every responder and "
                "requester an asyncio task of one event loop (the listening side, a blocking call, a thread)"),
    option("--workload", parts=f"{LOAD} serve responders", choices=tuple(WORKLOADS), default="echo",
           help="echo: the seed's text (default); rpc: the blog's {method, path, body} maps; mirror: each request "
                "comes back as the responder received it (responders answer echo and rpc alike, mirror only when "
                "started with it)"),
    option("--timeout", parts=f"{LOAD} serve broker responders", type=float, metavar="S", default=10.0,
           help="seconds to wait for any one reply or peer; a connection that has not completed its handshake "
                "with a listening side by then is closed (default 10)"),
    option("--retries", parts=LOAD, type=int, metavar="N", default=3,
           help="times a request without a reply is sent again (default 3)"),
    option("--window", parts=LOAD, type=int, metavar="N", default=1,
           help="requests in flight per requester (default 1: lockstep, as the seed)"),
    option("--rate", parts=LOAD, type=float, metavar="R", default=0.0,
           help="open loop: requests per second in all, sent on schedule whether or not replies came; latency "
                "counts from each request's intended send time"),
    option("--payload-bytes", parts=LOAD, type=int, metavar="N", default=0,
           help="echo: pad each request's text to this many bytes (default: the seed's text)"),
    option("--payload", parts="run compare", metavar="PATH[:NAME]", default="", help=PAYLOAD_HELP),
    option("--payload", parts="request", metavar="PATH[:NAME]", default="",
           help=PAYLOAD_HELP + " (start the response side with --workload mirror, and the same --codec)"),
    option("--no-latency", dest="record_latency", parts=LOAD, action="store_false",
           help="do not time each request (only to measure what timing costs)"),
    option("--service-time", parts="run compare serve responders", metavar="SPEC", default="",
           help="how long responders take to handle each request, by sleeping: fixed:2ms, exp:1ms (exponential, "
                "mean 1 ms) or slow:1%%:50ms (1%% of the requests take 50 ms, the others no time); echo and rpc"),
    option("--fault", parts="run compare", metavar="SPEC", default="",
           help="kill or hang a responder mid-run: KIND[:responder N][@SECONDSs or @PERCENT%%], KIND kill (SIGKILL) "
                "or hang (SIGSTOP, continued at the end); default responder 1, once a third of the requests are "
                "answered (processes only)"),
    option("--delay", dest="delay_ms", parts="run compare", type=float, metavar="MS",
           help=f"a relay between the requesters and the {SERVER} that holds every chunk MS milliseconds "
                "in each direction, as a network's one-way delay (0: the relay's own cost)"),
    option("--responder-delay", dest="responder_delay_ms", parts="run compare", type=float, metavar="MS",
           help=f"the same between the responders and the {SERVER} (with --delay: three hosts)"),
    option("--one-hop", parts="run compare", action="store_true",
           help="the one-hop shape, as an RPC server has it: the server answers every request itself, in its own "
                "process, where the seed's shape passes it on to separate responders (two hops); --responders, "
                "--fault, --service-time and --responder-delay do not apply"),
    option("--local", parts="run compare", action="store_true",
           help="every hop over local sockets, not loopback TCP: socket files in a private folder (mode 0700), "
                "removed however the run ends"),
)
OUTPUT: tuple[Option, ...] = (
    option("--rounds", parts=LOAD, type=int, metavar="N",
           help="run N times, --requests split over them; figures are the medians of the rounds, with the lowest "
                "and highest (default 3, fewer if the requests do not go round, 1 for the hello example; compare "
                "alternates the variants round by round)"),
    option("--json", parts=f"{LOAD} show", metavar="PATH",
           help="write the results as JSON (the format `reqrep show` reads back)"),
    option("--markdown", parts=f"{LOAD} show", metavar="PATH", help="write the table as Markdown"),
    option("--pyperf", parts=f"{LOAD} show", metavar="PATH",
           help="write the rounds as a pyperf benchmark file (python -m pyperf stats|hist|compare_to read it)"),
    option("--quiet", parts=LOAD, action="store_true", help="no progress bar"),
)


def every_codec(transports: Sequence[Transport]) -> tuple[str, ...]:
    """The codecs every transport has, in the first one's order: --factorial runs each transport with each."""
    return tuple(name for name in transports[0].codecs if all(name in each.codecs for each in transports))


def factorial_option(transports: Sequence[Transport]) -> Option:
    codecs = every_codec(transports)
    count = len(codecs) * len(transports)
    runs = NUMBERS[count] if count < len(NUMBERS) else str(count)
    return option("--factorial", parts="compare", action="store_true",
                  help=f"{runs} runs: each variant with {' and with '.join(codecs)}, to tell the transport's cost "
                       f"from the encoding's")


class Parser(argparse.ArgumentParser):
    """argparse, but a mistake gets one sentence and a pointer to --help rather than the whole usage."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def scoped(transport: Transport, dest: str) -> str:
    """Where a transport's option lands in the parsed namespace: 'zmq.curve'."""
    return f"{transport.name}.{dest}"


def codec_flag(transport: Transport, variants: int) -> str:
    """--codec where the command runs one variant, --zmq-codec where it runs several."""
    return "--codec" if variants == 1 else f"--{transport.name}-codec"


def codec_option(transport: Transport, flag: str = "--codec") -> Option:
    return option(flag, dest="codec", parts="run compare serve responders request", metavar="NAME",
                  default=transport.default_codec, help=transport.codec_help)


class Grammar:
    """Builds the parser, and remembers which command offers which flag to say where a misplaced one applies."""

    def __init__(self, transports: Sequence[Transport]) -> None:
        self.transports = transports
        self.offered: dict[str, list[str]] = {}  # flag -> the commands that offer it

    def add(self, parser: argparse.ArgumentParser, options: Iterable[Option], part: str,
            scope: Transport | None = None, group: str | None = None, server: str = "server") -> None:
        """The options of `part`, SERVER in their help texts becoming `server`."""
        target = parser.add_argument_group(group) if group else parser
        for each in options:
            if part not in each.parts:
                continue
            arguments = dict(each.arguments)
            if each.flags[0].startswith("-"):
                arguments["dest"] = scoped(scope, each.dest) if scope else each.dest
            target.add_argument(*each.flags, help=each.help.replace(SERVER, server), **arguments)
            for flag in each.flags:
                if flag.startswith("-") and parser.prog not in self.offered.setdefault(flag, []):
                    self.offered[flag].append(parser.prog)

    def command(self, commands, name: str, help: str, examples: Sequence[str] = (),  # noqa: A002
                **defaults) -> argparse.ArgumentParser:
        epilog = "examples:\n" + "\n".join(f"  {line}" for line in examples) if examples else None
        parser = commands.add_parser(name, help=help, description=help, epilog=epilog,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
        # -v anywhere: after the subcommand too. SUPPRESS keeps a -v given before it.
        parser.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                            help="log what the roles are doing")
        parser.set_defaults(**defaults)
        return parser

    def local(self, parser: argparse.ArgumentParser, part: str, transports: Sequence[Transport]) -> None:
        server = " or ".join(dict.fromkeys(each.server_role for each in transports))
        self.add(parser, (*COMMON, *OUTPUT, factorial_option(transports)), part, server=server)
        for transport in transports:
            flag = codec_flag(transport, len(transports))
            group = f"{transport.name} options" if len(transports) > 1 else None
            self.add(parser, (codec_option(transport, flag), *transport.options), part, transport, group)

    def build(self) -> argparse.ArgumentParser:
        names = [transport.name for transport in self.transports]
        parser = Parser(prog="reqrep", formatter_class=argparse.RawDescriptionHelpFormatter,
                        description="One request/response workload over ZeroMQ and over multiprocessing.managers, "
                                    "verified and measured side by side.",
                        epilog="examples:\n" + "\n".join(f"  {line}" for line in (
                            "reqrep compare", f"reqrep run {names[0]} --requests 10000 --concurrency threads",
                            "reqrep semantics --markdown semantics.md", "reqrep bench --quick",
                            f"reqrep {names[0]} --help")))
        parser.add_argument("--version", action="version", version=f"reqrep {__version__}")
        parser.add_argument("-v", "--verbose", action="store_true", help="log what the roles are doing")
        commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)
        run = self.command(commands, "run", "run one variant on this machine and print a summary",
                           [f"reqrep run {name} --requests 10000" for name in names])
        variants = run.add_subparsers(dest="transport", required=True, metavar="VARIANT", parser_class=Parser)
        for transport in self.transports:
            self.local(self.command(variants, transport.name, transport.title, command="run", part="run"), "run",
                       [transport])
        compare = self.command(commands, "compare", "run every variant and print them side by side",
                               ["reqrep compare", "reqrep compare --workload rpc --concurrency asyncio",
                                "reqrep compare --factorial --requests 20000"], command="compare", part="run")
        self.local(compare, "compare", self.transports)
        show = self.command(commands, "show", "print the results of saved --json files of run or compare again, or "
                                               "render a bench's report again from its results.json",
                            command="show")
        show_command(show)
        self.add(show, OUTPUT, "show")
        semantics_command(self.command(commands, "semantics", "send Python values through each path, end to end, "
                                       "and show which arrive identical, changed or not at all", command="semantics"))
        bench = self.command(commands, "bench", "a preset of studies, each a set of verified runs (paths against "
                             "payload sizes, windows and counts; recording cost, many requesters, soak, faults and "
                             "push against pull dispatch, network delay, NumPy arrays, the Python alternatives; your "
                             "own values) written to results.json, report.md and plots", command="bench")
        bench_command(bench)
        for transport in self.transports:  # a transport's own flags for its bench paths
            self.add(bench, transport.options, "bench", transport, f"{transport.name} options")
        for transport in self.transports:
            self.tandem(commands, transport)
        return parser

    def tandem(self, commands, transport: Transport) -> None:
        """The tandem commands: the response side (whole, or its parts) and the request side."""
        tandem = self.command(commands, transport.name, f"tandem mode: the {transport.name} roles one command each",
                              transport.examples)
        parts = tandem.add_subparsers(dest="part", required=True, metavar="ROLE", parser_class=Parser)
        request = Part("the request side, against a running response side", server=False, responders=False)
        for name, part in {**transport.parts, "request": request}.items():
            kind = "request" if part is request else KINDS[part.server, part.responders]
            parser = self.command(parts, name, part.help, command="request" if part is request else "serve",
                                  transport=transport.name)
            self.add(parser, (*COMMON, *OUTPUT), kind)
            self.add(parser, (codec_option(transport),), kind, transport)
            self.add(parser, transport.options, name, transport)
        for extra in transport.commands:
            parser = self.command(parts, extra.name, extra.help, command="extra", transport=transport.name)
            self.add(parser, extra.options, extra.name)

    def misplaced(self, flag: str, prog: str) -> str | None:
        """The sentence for a flag given to a command that does not offer it, if another command does."""
        name = flag.split("=", 1)[0]
        where = self.offered.get(name)
        own = [each for each in (f"--{t.name}-{name[2:]}" for t in self.transports)
               if prog in self.offered.get(each, ())]
        if own:  # compare sets a transport's option for each variant: --zmq-codec, --native-codec
            return f"{name} does not apply to `{prog}`, which runs every variant: use {' and '.join(own)}"
        if not where:
            return None
        return f"{name} does not apply to `{prog}`: it is an option of {', '.join(where)}"


def semantics_command(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--values", metavar="PATH",
                        help="your own values instead of reqrep's corpus: PATH is a Python file that reqrep EXECUTES "
                             "(with your permissions, in this process, before the roles start) and that defines "
                             "VALUES, a dict of name to value or a list; each value is one row")
    parser.add_argument("--timeout", type=float, default=60.0, metavar="S",
                        help="seconds to wait for any one value to come back (default 60)")
    parser.add_argument("--json", metavar="PATH", help="write the rows as JSON")
    parser.add_argument("--markdown", metavar="PATH", help="write the table as Markdown")
    parser.add_argument("--brief", action="store_true",
                        help="the table (printed and Markdown) shows only the values on which the paths disagree, "
                             "in short cells: '=' identical, the change, or where it failed (JSON keeps every row)")
    parser.add_argument("--quiet", action="store_true", help="no progress line")


def show_command(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="a --json file of reqrep run or reqrep compare "
                        "(several run files are shown side by side), or the results.json of reqrep bench")
    parser.add_argument("--out", metavar="DIR", default=None, help="a bench's results.json: write report.md and the "
                        "plots here (created), rather than print report.md")


def bench_command(parser: argparse.ArgumentParser) -> None:
    presets = parser.add_mutually_exclusive_group()
    presets.add_argument("--quick", dest="preset", action="store_const", const="quick",
                         help="a reduced sweep: under a minute on 2 cores (as --preset quick)")
    presets.add_argument("--preset", choices=list(DESCRIPTIONS), metavar="NAME",
                         help="what to run (default full): " + "; ".join(f"{name}, {description}"
                                                                       for name, description in DESCRIPTIONS.items()))
    presets.add_argument("--payload", metavar="PATH[:NAME]", default="",
                         help="the values preset: your own values as the requests of each path whose codec carries "
                              "them (the others left out, saying why), as `reqrep run --payload` sends them; PATH is "
                              "a Python file that reqrep EXECUTES, here and before any run starts, and that defines "
                              "VALUES, a dict of name to value or a list (:NAME: that one value)")
    parser.add_argument("--out", metavar="DIR", default=None,
                        help="where results.json, report.md and the plots go (default bench-results/PRESET, created)")
    parser.add_argument("--requests", type=int, metavar="N",
                        help="requests per point (full: 4000; the sweep's fewer as payloads grow)")
    parser.add_argument("--timeout", type=float, metavar="S",
                        help="seconds to wait for any one reply (default: the preset's, 10 for most)")
    parser.add_argument("--rounds", type=int, metavar="N",
                        help="passes over the whole bench; each figure is the median of a point's rounds (default: "
                             "the preset's)")
    parser.add_argument("--concurrency", action="append", choices=CONCURRENCY, metavar="MODE",
                        help="run the threads or asyncio points of the sweep only for the modes given (repeat for "
                             "several; default all of processes, threads and asyncio; processes always run)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(preset=None)  # full, or values with --payload (sweep.choose_sweep)
