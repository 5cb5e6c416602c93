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
from shared import __version__, report
from shared.config import (
    CONCURRENCY,
    DEFAULT_MAX_MESSAGE_BYTES,
    DEFAULT_NATIVE_ADDRESS,
    DEFAULT_ZMQ_BACK,
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
        parser.add_argument("--workload", choices=WORKLOADS, default="echo",
                            help="echo: the seed's text; rpc: the blog's {method, path, body} maps")
        parser.add_argument("--json", metavar="PATH", help="write the results as JSON")
        parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--codec", help="zmq: msgpack (default) or raw (the seed's UTF-8 frames); native: pickle")
    parser.add_argument("--timeout", type=float, default=10.0,
                        help="seconds to wait for any one reply or peer (default 10)")
    if requester_side:
        parser.add_argument("--retries", type=int, default=3,
                            help="times a request without a reply is sent again (default 3)")


def add_limit_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--max-message-bytes", type=int, default=DEFAULT_MAX_MESSAGE_BYTES,
                        help="zmq: a peer that sends a larger message is disconnected "
                             f"(default {DEFAULT_MAX_MESSAGE_BYTES // 2**20} MiB)")


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
    add_limit_options(run_parser)
    run_parser.set_defaults(handler=cmd_run)

    compare_parser = commands.add_parser("compare", help="run both variants and print them side by side")
    add_workload_options(compare_parser)
    add_local_options(compare_parser)
    add_limit_options(compare_parser)
    compare_parser.add_argument("--markdown", metavar="PATH", help="write the table as Markdown")
    compare_parser.set_defaults(handler=cmd_compare)

    for transport in TRANSPORTS:
        add_tandem_commands(commands, transport)
    return parser


def add_tandem_commands(commands, transport: str) -> None:
    """The seed's two scripts in two terminals: the response side (whole, or its roles one by one) and the
    request side, each a command of its own."""
    zmq = transport == "zmq"
    tandem = commands.add_parser(transport, help=f"tandem mode: the {transport} roles one command each")
    sides = tandem.add_subparsers(dest="side", required=True, metavar="ROLE", parser_class=Parser)
    front_flag, front = ("--front", DEFAULT_ZMQ_FRONT) if zmq else ("--address", DEFAULT_NATIVE_ADDRESS)

    serve_parser = sides.add_parser("serve", help="the response side: " + (
        "broker and responders" if zmq else "manager server and responders (--responders 0: the server alone)"))
    serve_parser.add_argument(front_flag, dest="address", default=front, help=f"default {front}")
    add_workload_options(serve_parser, requester_side=False)
    add_local_options(serve_parser)
    add_limit_options(serve_parser)
    serve_parser.set_defaults(handler=cmd_serve, transport=transport, example="router", part="serve")

    if zmq:
        broker_parser = sides.add_parser("broker", help="the broker alone: ROUTER, zmq.proxy, DEALER")
        broker_parser.add_argument("--front", dest="address", default=DEFAULT_ZMQ_FRONT,
                                   help=f"where requesters connect (default {DEFAULT_ZMQ_FRONT})")
        broker_parser.add_argument("--back", dest="back", default=DEFAULT_ZMQ_BACK,
                                   help=f"where responders connect (default {DEFAULT_ZMQ_BACK})")
        add_workload_options(broker_parser, requester_side=False)
        add_limit_options(broker_parser)
        broker_parser.set_defaults(handler=cmd_serve, transport=transport, example="router", part="broker",
                                   responders=0, concurrency="processes")
    responders_parser = sides.add_parser("responders", help="responders alone, for a running " + (
        "broker" if zmq else "manager server"))
    if zmq:
        responders_parser.add_argument("--connect", dest="back", default=DEFAULT_ZMQ_BACK,
                                       help=f"the broker's back address (default {DEFAULT_ZMQ_BACK})")
    else:
        responders_parser.add_argument("--address", dest="address", default=DEFAULT_NATIVE_ADDRESS,
                                       help=f"default {DEFAULT_NATIVE_ADDRESS}")
    add_workload_options(responders_parser, requester_side=False)
    add_local_options(responders_parser)
    add_limit_options(responders_parser)
    responders_parser.set_defaults(handler=cmd_serve, transport=transport, example="router", part="responders")
    if zmq:
        responders_parser.set_defaults(address=DEFAULT_ZMQ_FRONT)  # unused: zmq responders know only the back

    request_parser = sides.add_parser("request", help="the request side, against a running response side")
    request_parser.add_argument("--connect" if zmq else "--address", dest="address", default=front,
                                help=f"default {front}")
    add_workload_options(request_parser)
    request_parser.set_defaults(handler=cmd_request, transport=transport, responders=None,
                                concurrency="processes")


# ---- from options to a checked configuration ------------------------------------------------------------
def choose_codec(transport: str, asked: str | None, workload: str) -> str:
    module = CODECS[transport]
    if asked is None or (transport == "native" and asked in CODECS["zmq"].CODECS):
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
    response_side_only = getattr(args, "part", "") in ("serve", "broker")  # a server may start with no responders
    check_counts(requests, requesters, responders, responders_may_be_zero=response_side_only)
    check_timeout(args.timeout)
    retries = getattr(args, "retries", 3)
    if retries < 0:
        raise UsageError(f"--retries must be zero or more, not {retries}")
    workload = getattr(args, "workload", "echo")
    config = RunConfig(transport=transport, example="hello" if hello else "router", requests=requests,
                       requesters=requesters, responders=responders, concurrency=args.concurrency,
                       workload=workload, codec=choose_codec(transport, args.codec, workload),
                       timeout=args.timeout, retries=retries,
                       max_message_bytes=getattr(args, "max_message_bytes", DEFAULT_MAX_MESSAGE_BYTES))
    if config.max_message_bytes <= 0:
        raise UsageError(f"--max-message-bytes must be a positive number, not {config.max_message_bytes}")
    if not local:
        return config.with_(**tandem_addresses(args, transport))
    return config.with_(**local_addresses(transport, args.concurrency))


def tandem_addresses(args: argparse.Namespace, transport: str) -> dict:
    if transport == "native":
        parse_host_port(args.address)
        return {"address": args.address, "authkey": authkey_from_environment()}
    back = parse_zmq_endpoint(args.back) if getattr(args, "back", None) else back_address(args.concurrency)
    return {"address": parse_zmq_endpoint(args.address), "back_address": back}


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


def cmd_request(args: argparse.Namespace) -> int:
    config = make_config(args, args.transport, local=False)
    result = run_one(config, args, local_server=False)
    if result.answered == 0:  # nobody there: one sentence, not a table of failures
        reasons = result.errors + result.failures
        raise UsageError(reasons[0].split(": ", 1)[-1] if reasons else f"no reply from {config.address}")
    return finish([result], args)


def cmd_serve(args: argparse.Namespace) -> int:
    """serve, broker and responders: the response side, or a part of it, until Ctrl-C or SIGTERM."""
    config = make_config(args, args.transport, local=False)
    impl = TRANSPORTS[config.transport]
    with_server = args.part != "responders"
    where = config.address if with_server else (config.back_address if config.transport == "zmq" else
                                                 config.address)
    what = {"serve": f"serving on {where} with {config.responders} responders",
            "broker": f"broker serving on {config.address}, responders on {config.back_address}",
            "responders": f"{config.responders} responders serving for {where}"}[args.part]

    def announce() -> None:
        console.print(f"reqrep {config.transport} {what} ({config.concurrency}, codec {config.codec}); "
                      f"Ctrl-C to stop", highlight=False)

    try:
        serve(config, impl, announce, with_server=with_server)
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
