"""The command line's grammar: subcommands and their options, one argparse parser. It names no transport
module; `shared/cli.py` turns what it parses into configurations and runs the commands."""

from __future__ import annotations

import argparse

from shared import __version__
from shared.config import (
    CONCURRENCY,
    DEFAULT_MAX_MESSAGE_BYTES,
    DEFAULT_NATIVE_ADDRESS,
    DEFAULT_ZMQ_BACK,
    DEFAULT_ZMQ_FRONT,
    EXAMPLES,
    WORKLOADS,
)

TRANSPORT_NAMES = ("zmq", "native")
EXIT_USAGE = 2
BENCH_PRESETS = ("full", "quick", "tiny")  # shared/sweep.py defines them


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
    if requester_side:
        parser.add_argument("--retries", type=int, default=3,
                            help="times a request without a reply is sent again (default 3)")


def add_load_options(parser: argparse.ArgumentParser) -> None:
    """How the requesters load the server: the closed loop's window, or the open loop's rate."""
    parser.add_argument("--window", type=int, default=1,
                        help="requests in flight per requester (default 1: lockstep, as the seed; zmq "
                             "requesters then use a DEALER socket)")
    parser.add_argument("--rate", type=float, default=0.0,
                        help="open loop: requests per second in all, sent on schedule whether or not replies "
                             "came; latency counts from each request's intended send time")
    parser.add_argument("--payload-bytes", type=int, default=0,
                        help="echo: pad each request's text to this many bytes (default: the seed's text)")
    parser.add_argument("--batch", action="store_true",
                        help="native: move requests and replies many per manager call (the tuned use)")
    parser.add_argument("--stock-managers", action="store_true",
                        help="native: the stock manager connections, with Nagle's algorithm left on")
    parser.add_argument("--no-latency", dest="record_latency", action="store_false",
                        help="do not time each request (only to measure what timing costs)")


def add_native_tuning(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--batch", action="store_true",
                        help="responders take and answer many requests per manager call (the tuned use)")
    parser.add_argument("--window", type=int, default=16, help="with --batch: the most requests one call takes")
    parser.add_argument("--stock-managers", action="store_true",
                        help="the stock manager connections, with Nagle's algorithm left on")


def add_limit_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--max-message-bytes", type=int, default=DEFAULT_MAX_MESSAGE_BYTES,
                        help="zmq: a peer that sends a larger message is disconnected "
                             f"(default {DEFAULT_MAX_MESSAGE_BYTES // 2**20} MiB)")


def add_key_options(parser: argparse.ArgumentParser, transport: str, *, run: bool = False) -> None:
    """Key material comes from files or the environment, never from the command line (`ps` shows it)."""
    if transport == "native" and not run:
        parser.add_argument("--authkey-file", metavar="PATH",
                            help="read the shared key from this file instead of REQREP_AUTHKEY")
    elif transport == "zmq" and run:
        parser.add_argument("--curve", action="store_true",
                            help="zmq: CURVE encryption and client authentication, with keys made for the run")
    elif transport == "zmq":
        parser.add_argument("--curve", metavar="DIR", default="",
                            help="CURVE encryption and authentication with the keys of `reqrep zmq keys DIR`")


def add_local_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--responders", type=int, help="responder count (router: 5, hello: 1)")
    add_concurrency_option(parser)


def add_concurrency_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--concurrency", choices=CONCURRENCY, default="processes",
                        help="every role a process (default), every role a thread of one process, or every "
                             "responder and requester an asyncio task of one event loop (the broker or server "
                             "a thread)")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="reqrep", description="One request/response workload over ZeroMQ "
                                     "and over multiprocessing.managers, verified and measured side by side.")
    parser.add_argument("--version", action="version", version=f"reqrep {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what the roles are doing")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)

    run_parser = commands.add_parser("run", help="run one variant on this machine and print a summary")
    run_parser.add_argument("transport", choices=TRANSPORT_NAMES)
    add_workload_options(run_parser)
    add_load_options(run_parser)
    add_local_options(run_parser)
    add_limit_options(run_parser)
    add_key_options(run_parser, "zmq", run=True)
    run_parser.set_defaults(command="run")

    compare_parser = commands.add_parser("compare", help="run both variants and print them side by side")
    add_workload_options(compare_parser)
    add_load_options(compare_parser)
    add_local_options(compare_parser)
    add_limit_options(compare_parser)
    add_key_options(compare_parser, "zmq", run=True)
    compare_parser.add_argument("--markdown", metavar="PATH", help="write the table as Markdown")
    compare_parser.add_argument("--factorial", action="store_true",
                                help="four runs: zmq and native, each with msgpack and with pickle, to tell the "
                                     "transport's cost from the encoding's")
    compare_parser.set_defaults(command="compare")

    semantics_parser = commands.add_parser("semantics", help="send Python values through each path, end to end, "
                                                            "and show which arrive identical, changed or not at all")
    semantics_parser.add_argument("--timeout", type=float, default=60.0,
                                  help="seconds to wait for any one value to come back (default 60)")
    semantics_parser.add_argument("--json", metavar="PATH", help="write the rows as JSON")
    semantics_parser.add_argument("--markdown", metavar="PATH", help="write the table as Markdown")
    semantics_parser.add_argument("--quiet", action="store_true", help="no progress line")
    semantics_parser.set_defaults(command="semantics")

    add_bench_command(commands)
    for transport in TRANSPORT_NAMES:
        add_tandem_commands(commands, transport)
    return parser


def add_bench_command(commands) -> None:
    bench = commands.add_parser("bench", help="a sweep of runs (paths, payload sizes, windows, counts, processes, "
                                              "threads and asyncio) written to results.json, report.md and plots")
    presets = bench.add_mutually_exclusive_group()
    presets.add_argument("--quick", dest="preset", action="store_const", const="quick",
                         help="a reduced sweep: under a minute on 2 cores")
    presets.add_argument("--preset", choices=BENCH_PRESETS,
                         help="full (default: the README's figures, minutes), quick (as --quick) or tiny (seconds: "
                              "a smoke test)")
    bench.add_argument("--out", metavar="DIR", default="bench-results",
                       help="where results.json, report.md and the plots go (default bench-results, created)")
    bench.add_argument("--requests", type=int, metavar="N",
                       help="requests per point at small payloads (full: 4000); fewer as payloads grow")
    bench.add_argument("--timeout", type=float, metavar="S", help="seconds to wait for any one reply (default 10)")
    bench.add_argument("--concurrency", action="append", choices=CONCURRENCY, metavar="MODE",
                       help="run the threads or asyncio points of the sweep only for the modes given (repeat for "
                            "several; default all of processes, threads and asyncio; processes always run)")
    bench.add_argument("--quiet", action="store_true", help="no progress bar")
    bench.set_defaults(command="bench", preset="full")  # for both flags: each would set its own default


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
    add_key_options(serve_parser, transport)
    serve_parser.set_defaults(command="serve", transport=transport, example="router", part="serve")
    if not zmq:
        add_native_tuning(serve_parser)

    if zmq:
        broker_parser = sides.add_parser("broker", help="the broker alone: ROUTER, zmq.proxy, DEALER")
        broker_parser.add_argument("--front", dest="address", default=DEFAULT_ZMQ_FRONT,
                                   help=f"where requesters connect (default {DEFAULT_ZMQ_FRONT})")
        broker_parser.add_argument("--back", dest="back", default=DEFAULT_ZMQ_BACK,
                                   help=f"where responders connect (default {DEFAULT_ZMQ_BACK})")
        add_workload_options(broker_parser, requester_side=False)
        add_limit_options(broker_parser)
        add_key_options(broker_parser, transport)
        broker_parser.set_defaults(command="serve", transport=transport, example="router", part="broker",
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
    add_key_options(responders_parser, transport)  # zmq: across hosts, the back is CURVE like the front
    responders_parser.set_defaults(command="serve", transport=transport, example="router", part="responders")
    if not zmq:
        add_native_tuning(responders_parser)
    if zmq:
        responders_parser.set_defaults(address=DEFAULT_ZMQ_FRONT)  # unused: zmq responders know only the back

    request_parser = sides.add_parser("request", help="the request side, against a running response side")
    request_parser.add_argument("--connect" if zmq else "--address", dest="address", default=front,
                                help=f"default {front}")
    add_workload_options(request_parser)
    add_load_options(request_parser)
    add_concurrency_option(request_parser)
    add_key_options(request_parser, transport)
    if zmq:
        request_parser.add_argument("--shared-connection", action="store_true",
                                    help="all requesters share one TCP connection to the broker, through a local "
                                         "request router (as the seed's request-router did)")
    request_parser.set_defaults(command="request", transport=transport, responders=None)
    if zmq:
        keys_parser = sides.add_parser("keys", help="create CURVE key pairs for a server and a client in DIR")
        keys_parser.add_argument("folder", metavar="DIR")
        keys_parser.set_defaults(command="keys")


