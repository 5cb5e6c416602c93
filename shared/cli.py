"""The `reqrep` command line: argparse subcommands, one `cmd_<name>` function each. The only module that
knows both transports; it hands the chosen one to the transport-neutral runner."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from types import ModuleType

from rich.console import Console

import native_impl
import zmq_impl
from shared import __version__, corpus, report, semantics
from shared.config import (
    CONCURRENCY,
    DEFAULT_NATIVE_ADDRESS,
    DEFAULT_ZMQ_FRONT,
    EXAMPLES,
    HELLO_REQUESTS,
    WORKLOADS,
    RunConfig,
    UsageError,
    authkey_from_environment,
    back_address,
    check_counts,
    check_timeout,
    local_addresses,
    parse_host_port,
    parse_zmq_endpoint,
)
from shared.results import RunResult
from shared.roles import RoleFailed, Terminated, raise_terminated
from shared.run import run, serve

TRANSPORTS: dict[str, ModuleType] = {"zmq": zmq_impl, "native": native_impl}
CODECS = {"zmq": zmq_impl.codec, "native": native_impl.codec}
EXIT_FAILED, EXIT_USAGE, EXIT_SIGINT, EXIT_SIGTERM = 1, 2, 130, 143

console = Console()
errors = Console(stderr=True)


class Parser(argparse.ArgumentParser):
    """argparse, but a mistake gets one sentence and a pointer to --help rather than the whole usage."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# ---- options ------------------------------------------------------------------------------------------
def add_workload_options(parser: argparse.ArgumentParser, *, requester_side: bool = True) -> None:
    if requester_side:
        parser.add_argument("--example", choices=EXAMPLES, default="router",
                            help="hello: the seed's example 1 (1 requester, 1 responder, 5 requests); "
                                 "router: example 2 (default)")
        parser.add_argument("--requests", type=int, help="requests in all (router: 100000, hello: 5)")
        parser.add_argument("--requesters", type=int, help="requester count (router: 5, hello: 1)")
        parser.add_argument("--json", metavar="PATH", help="write the results as JSON")
        parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--workload", choices=WORKLOADS, default="echo",
                        help="echo: the seed's text; rpc: the blog's {method, path, body} maps; mirror: each "
                             "request comes back as the responder received it (a server answers echo and rpc "
                             "alike, mirror only when started with it)")
    parser.add_argument("--codec", help="zmq: msgpack (default), msgpack-ext (msgpack with extension types for "
                                        "tuple, set, datetime, Decimal ...) or raw (the seed's UTF-8 frames); "
                                        "native: pickle")
    parser.add_argument("--timeout", type=float, default=10.0,
                        help="seconds to wait for any one reply or peer (default 10)")


def add_local_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--responders", type=int, help="responder count (router: 5, hello: 1)")
    parser.add_argument("--concurrency", choices=CONCURRENCY, default="processes",
                        help="every role a process (default), or every role a thread of one process")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="reqrep", description="One request/response workload over ZeroMQ "
                                     "and over multiprocessing.managers, verified and measured side by side.")
    parser.add_argument("--version", action="version", version=f"reqrep {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what the roles are doing")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)

    run_parser = commands.add_parser("run", help="run one variant on this machine and print a summary")
    run_parser.add_argument("transport", choices=TRANSPORTS)
    add_workload_options(run_parser)
    add_local_options(run_parser)
    run_parser.set_defaults(handler=cmd_run)

    compare_parser = commands.add_parser("compare", help="run both variants and print them side by side")
    add_workload_options(compare_parser)
    add_local_options(compare_parser)
    compare_parser.add_argument("--markdown", metavar="PATH", help="write the table as Markdown")
    compare_parser.set_defaults(handler=cmd_compare)

    semantics_parser = commands.add_parser("semantics", help="send Python values through each path, end to end, "
                                                            "and show which arrive identical, changed or not at all")
    semantics_parser.add_argument("--timeout", type=float, default=60.0,
                                  help="seconds to wait for any one value to come back (default 60)")
    semantics_parser.add_argument("--json", metavar="PATH", help="write the rows as JSON")
    semantics_parser.add_argument("--markdown", metavar="PATH", help="write the table as Markdown")
    semantics_parser.add_argument("--quiet", action="store_true", help="no progress line")
    semantics_parser.set_defaults(handler=cmd_semantics)

    for transport, address_flag, default in (("zmq", "--front", DEFAULT_ZMQ_FRONT),
                                             ("native", "--address", DEFAULT_NATIVE_ADDRESS)):
        tandem = commands.add_parser(transport, help=f"tandem mode: the {transport} response or request side")
        sides = tandem.add_subparsers(dest="side", required=True, metavar="SIDE", parser_class=Parser)
        serve_parser = sides.add_parser("serve", help="the response side, until Ctrl-C or SIGTERM")
        serve_parser.add_argument(address_flag, dest="address", default=default, help=f"default {default}")
        add_workload_options(serve_parser, requester_side=False)
        add_local_options(serve_parser)
        serve_parser.set_defaults(handler=cmd_serve, transport=transport, example="router")
        request_parser = sides.add_parser("request", help="the request side, against a running server")
        connect_flag = "--connect" if transport == "zmq" else "--address"
        request_parser.add_argument(connect_flag, dest="address", default=default, help=f"default {default}")
        add_workload_options(request_parser)
        request_parser.set_defaults(handler=cmd_request, transport=transport, responders=None,
                                    concurrency="processes")
    return parser


# ---- from options to a checked configuration ------------------------------------------------------------
def choose_codec(transport: str, asked: str | None, workload: str, *, both: bool = False) -> str:
    module = CODECS[transport]
    if asked is None or (both and transport == "native" and asked in CODECS["zmq"].CODECS):
        return module.DEFAULT_CODEC  # compare: --codec chooses the zmq side's codec
    if asked not in module.CODECS:
        raise UsageError(f"unknown codec {asked!r} for {transport}: choose one of {', '.join(module.CODECS)}")
    if asked == "raw" and workload != "echo":
        raise UsageError("the raw codec carries the seed's text frames only: use it with --workload echo")
    return asked


def make_config(args: argparse.Namespace, transport: str, *, local: bool = True) -> RunConfig:
    hello = getattr(args, "example", "router") == "hello"
    requests = args.requests if getattr(args, "requests", None) is not None else (
        HELLO_REQUESTS if hello else 100_000)
    requesters = args.requesters if getattr(args, "requesters", None) is not None else (1 if hello else 5)
    responders = args.responders if args.responders is not None else (1 if hello else 5)
    if hello and (requesters != 1 or responders != 1):
        raise UsageError("the hello example is one requester and one responder: "
                         "use --example router for more")
    check_counts(requests, requesters, responders)
    check_timeout(args.timeout)
    workload = getattr(args, "workload", "echo")
    config = RunConfig(transport=transport, example="hello" if hello else "router", requests=requests,
                       requesters=requesters, responders=responders, concurrency=args.concurrency,
                       workload=workload, timeout=args.timeout,
                       codec=choose_codec(transport, args.codec, workload, both=args.command == "compare"))
    if not local:
        return config.with_(**tandem_addresses(args, transport))
    return config.with_(**local_addresses(transport, args.concurrency))


def tandem_addresses(args: argparse.Namespace, transport: str) -> dict:
    if transport == "native":
        parse_host_port(args.address)
        return {"address": args.address, "authkey": authkey_from_environment()}
    return {"address": parse_zmq_endpoint(args.address), "back_address": back_address(args.concurrency)}


# ---- commands ---------------------------------------------------------------------------------------------
def run_one(config: RunConfig, args: argparse.Namespace, *, local_server: bool = True) -> RunResult:
    label = f"{config.transport} ({config.concurrency})"
    with report.progress_bar(console, not args.quiet, label) as progress:
        return run(config, TRANSPORTS[config.transport], local_server=local_server, progress=progress)


def finish(results: list[RunResult], args: argparse.Namespace) -> int:
    report.print_results(console, results)
    report.write_outputs(results, args.json, getattr(args, "markdown", None))
    return 0 if all(r.succeeded for r in results) else EXIT_FAILED


def cmd_run(args: argparse.Namespace) -> int:
    config = make_config(args, args.transport)
    return finish([run_one(config, args)], args)


def cmd_compare(args: argparse.Namespace) -> int:
    results = [run_one(make_config(args, transport), args) for transport in TRANSPORTS]
    return finish(results, args)


def cmd_semantics(args: argparse.Namespace) -> int:
    check_timeout(args.timeout)
    cases, notes = corpus.build()
    with report.status(console, not args.quiet) as say:
        rows = semantics.measure(TRANSPORTS, cases, args.timeout,
                                 lambda path: say(f"sending {len(cases)} values through {path}"))
    console.print(report.semantics_table(rows))
    for note in notes:
        console.print(f"not run here: {note}", highlight=False)
    report.write_semantics(rows, notes, args.json, args.markdown)
    return 0


def cmd_request(args: argparse.Namespace) -> int:
    config = make_config(args, args.transport, local=False)
    result = run_one(config, args, local_server=False)
    if result.answered == 0:  # nobody there: one sentence, not a table of failures
        reasons = result.errors + result.failures
        raise UsageError(reasons[0].split(": ", 1)[-1] if reasons else f"no reply from {config.address}")
    return finish([result], args)


def cmd_serve(args: argparse.Namespace) -> int:
    config = make_config(args, args.transport, local=False)

    def announce() -> None:
        console.print(f"reqrep {config.transport} serving on {config.address} with {config.responders} "
                      f"responders ({config.concurrency}, codec {config.codec}); Ctrl-C to stop",
                      highlight=False)

    try:
        serve(config, TRANSPORTS[config.transport], announce)
    except (KeyboardInterrupt, Terminated):
        console.print("stopped", highlight=False)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="reqrep: %(message)s")
    signal.signal(signal.SIGTERM, raise_terminated)
    try:
        return args.handler(args)
    except (UsageError, RoleFailed) as error:
        errors.print(f"reqrep: error: {error}", highlight=False, markup=False)
        return EXIT_USAGE
    except KeyboardInterrupt:
        errors.print("reqrep: interrupted", highlight=False)
        return EXIT_SIGINT
    except Terminated:
        errors.print("reqrep: terminated", highlight=False)
        return EXIT_SIGTERM
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


if __name__ == "__main__":
    sys.exit(main())
