"""The `reqrep` command line: argparse subcommands, one `cmd_<name>` function each. The only module that
knows both transports; it hands the chosen one to the transport-neutral runner."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import tempfile
from pathlib import Path
from types import ModuleType

from rich.console import Console

import native_impl
import zmq_impl
from shared import bench, bench_report, corpus, report, semantics, sweep
from shared.config import (
    DEFAULT_MAX_MESSAGE_BYTES,
    HELLO_REQUESTS,
    RunConfig,
    UsageError,
    back_address,
    check_counts,
    check_timeout,
    load_authkey,
    local_addresses,
    parse_host_port,
    parse_zmq_endpoint,
)
from shared.options import EXIT_USAGE, build_parser
from shared.results import RunResult
from shared.roles import RoleFailed, Terminated, raise_terminated
from shared.run import run, serve

TRANSPORTS: dict[str, ModuleType] = {"zmq": zmq_impl, "native": native_impl}
CODECS = {"zmq": zmq_impl.codec, "native": native_impl.codec}
EXIT_FAILED, EXIT_SIGINT, EXIT_SIGTERM = 1, 130, 143
MAX_RETRIES = 100
PIPED_WIDTH = 160

# Piped or redirected, rich would wrap at 80 columns: tables get wide enough for their numbers instead,
# and a message stays one line however long.
console = Console(width=None if sys.stdout.isatty() else PIPED_WIDTH)
errors = Console(stderr=True, soft_wrap=True)


# ---- from options to a checked configuration ------------------------------------------------------------
def choose_codec(transport: str, asked: str | None, workload: str, *, both: bool = False) -> str:
    module = CODECS[transport]
    if asked is None or (both and transport == "native"):
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
    if retries > MAX_RETRIES:
        raise UsageError(f"--retries must be at most {MAX_RETRIES}, not {retries}")
    workload = getattr(args, "workload", "echo")
    config = RunConfig(transport=transport, example="hello" if hello else "router", requests=requests,
                       requesters=requesters, responders=responders, concurrency=args.concurrency,
                       workload=workload, timeout=args.timeout, retries=retries,
                       codec=choose_codec(transport, args.codec, workload, both=args.command == "compare"),
                       max_message_bytes=getattr(args, "max_message_bytes", DEFAULT_MAX_MESSAGE_BYTES),
                       shared_connection=getattr(args, "shared_connection", False),
                       **load_settings(args, transport))
    if config.max_message_bytes <= 0:
        raise UsageError(f"--max-message-bytes must be a positive number, not {config.max_message_bytes}")
    if not config.lockstep and config.codec == "raw":
        raise UsageError("--window and --rate need numbered requests: the raw codec has no room for the number")
    if config.payload_bytes and config.workload != "echo":
        raise UsageError("--payload-bytes pads the echo workload's text: use it with --workload echo")
    if not local:
        return config.with_(**tandem_addresses(args, transport))
    return config.with_(**local_addresses(transport, args.concurrency))


def load_settings(args: argparse.Namespace, transport: str) -> dict:
    """The load model and the native tuning switches, checked; the native ones only on the native side."""
    settings = {"window": getattr(args, "window", 1), "rate": getattr(args, "rate", 0.0),
                "payload_bytes": getattr(args, "payload_bytes", 0),
                "record_latency": getattr(args, "record_latency", True)}
    if settings["window"] < 1:
        raise UsageError(f"--window must be 1 or more, not {settings['window']}")
    if settings["rate"] < 0:
        raise UsageError(f"--rate must be a positive number of requests per second, not {settings['rate']}")
    if settings["payload_bytes"] < 0:
        raise UsageError(f"--payload-bytes must be zero or more, not {settings['payload_bytes']}")
    if transport == "native":
        settings |= {"batch": getattr(args, "batch", False), "stock_managers": getattr(args, "stock_managers", False)}
    return settings


def tandem_addresses(args: argparse.Namespace, transport: str) -> dict:
    if transport == "native":
        parse_host_port(args.address)
        return {"address": args.address, "authkey": load_authkey(getattr(args, "authkey_file", None))}
    back = parse_zmq_endpoint(args.back) if getattr(args, "back", None) else back_address(args.concurrency)
    curve = getattr(args, "curve", "")
    if curve and not os.path.isdir(curve):
        raise UsageError(f"no CURVE key folder at {curve} (create one with `reqrep zmq keys {curve}`)")
    return {"address": parse_zmq_endpoint(args.address), "back_address": back, "curve_dir": curve}


def prepare_out(folder: str) -> Path:
    """The output folder, created if need be; a file in its place or no permission is the user's to fix."""
    out = Path(folder)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {folder} is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"cannot create the folder {folder}: {error.strerror}") from None
    return out


# ---- commands ---------------------------------------------------------------------------------------------
def run_one(config: RunConfig, args: argparse.Namespace, *, local_server: bool = True) -> RunResult:
    label = f"{config.transport} ({config.concurrency})"
    with report.progress_bar(console, not args.quiet, label) as progress:
        return run(config, TRANSPORTS[config.transport], local_server=local_server, progress=progress)


def finish(results: list[RunResult], args: argparse.Namespace) -> int:
    report.print_results(console, results)
    report.write_outputs(results, args.json, getattr(args, "markdown", None))
    return 0 if all(r.succeeded for r in results) else EXIT_FAILED


@contextlib.contextmanager
def run_keys(args: argparse.Namespace):
    """`run --curve`: CURVE keys made for this run in a temporary folder, removed afterwards."""
    if not getattr(args, "curve", False):
        yield ""
        return
    if args.concurrency != "processes":
        raise UsageError("--curve runs with --concurrency processes")
    with tempfile.TemporaryDirectory(prefix="reqrep-curve-") as folder:
        zmq_impl.server.create_keys(folder)
        yield folder


def local_config(args: argparse.Namespace, transport: str, curve_dir: str) -> RunConfig:
    config = make_config(args, transport)
    return config.with_(curve_dir=curve_dir) if transport == "zmq" else config


def cmd_run(args: argparse.Namespace) -> int:
    with run_keys(args) as curve_dir:
        return finish([run_one(local_config(args, args.transport, curve_dir), args)], args)


FACTORIAL = (("zmq", "msgpack"), ("zmq", "pickle"), ("native", "pickle"), ("native", "msgpack"))


def cmd_compare(args: argparse.Namespace) -> int:
    with run_keys(args) as curve_dir:
        if args.factorial:  # the same workload over each transport with each encoding
            configs = [local_config(args, transport, curve_dir).with_(codec=codec) for transport, codec in FACTORIAL]
        else:
            configs = [local_config(args, transport, curve_dir) for transport in TRANSPORTS]
        results = [run_one(config, args) for config in configs]
    if args.factorial:
        console.print(report.factorial_table(results))
    return finish(results, args)


def cmd_keys(args: argparse.Namespace) -> int:
    try:
        made = zmq_impl.server.create_keys(args.folder)
    except OSError as error:
        raise UsageError(f"cannot write keys into {args.folder}: {error.strerror}") from None
    for path in made:
        console.print(path, highlight=False)
    console.print(f"the server uses {args.folder}/server.key_secret and admits the public keys in "
                  f"{args.folder}/authorized/; a client uses client.key_secret and server.key", highlight=False)
    return 0


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


def cmd_bench(args: argparse.Namespace) -> int:
    chosen = sweep.choose_sweep(args.preset, args.requests, args.timeout, args.concurrency)
    out = prepare_out(args.out)
    session = bench.Bench(chosen)
    try:
        with bench_report.sweep_bar(console, not args.quiet, session.planned) as progress:
            session.run(TRANSPORTS, progress)
    finally:  # also after Ctrl-C: what was measured is kept
        written = bench_report.write(session, out)
    for line in bench_report.summary(session, written):
        console.print(line, highlight=False)
    return EXIT_FAILED if session.lost else 0


COMMANDS = {"run": cmd_run, "compare": cmd_compare, "semantics": cmd_semantics, "serve": cmd_serve,
            "request": cmd_request, "keys": cmd_keys, "bench": cmd_bench}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="reqrep: %(message)s")
    signal.signal(signal.SIGTERM, raise_terminated)
    try:
        return COMMANDS[args.command](args)
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
