"""The `reqrep` command line: argparse subcommands, one `cmd_<name>` function each."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import shlex
import signal
import sys
from pathlib import Path

from rich.console import Console

from shared.cli.options import COMMON, EXIT_USAGE, Grammar, codec_flag, codec_option, every_codec, scoped
from shared.cli.signals import ended_by, how_to_stop
from shared.core import outputs
from shared.core.config import RunConfig, check_timeout
from shared.core.errors import OUT_OF_MEMORY, UsageError
from shared.core.machine import machine_facts
from shared.core.registry import GROUP, TRANSPORTS, load
from shared.core.results import RunResult
from shared.core.rounds import alternate, check_rounds, rounds_for
from shared.core.run import run, serve
from shared.core.supervisor import RoleFailed, Terminated, raise_terminated
from shared.core.transport import Transport
from shared.report import document, pyperf_file, semantics_table
from shared.report import tables as report
from shared.report.records import Document
from shared.semantics import corpus
from shared.semantics import outcomes as semantics
from shared.semantics.values import Payload, cases, check_payload, load_payload

load()  # every installed transport into TRANSPORTS
EXIT_FAILED = 1
PIPED_WIDTH = 160
BENCH_OUT = "bench-results"  # where `reqrep bench` writes, one folder per preset, unless --out says otherwise
RUN_FIELDS = {field.name for field in dataclasses.fields(RunConfig)}

# Piped, rich would wrap at 80 columns: tables get wide enough for their numbers, a message stays one line.
console = Console(width=None if sys.stdout.isatty() else PIPED_WIDTH)
errors = Console(stderr=True, soft_wrap=True)


def config_for(args: argparse.Namespace, transport: Transport, payload: Payload | None = None) -> RunConfig:
    """The configuration the options describe for `transport`, checked."""
    values = vars(args)
    common = {each.dest: values[each.dest] for each in COMMON if each.dest in values} | {"payload": payload}
    mine = {each.dest: values[scoped(transport, each.dest)]
            for each in (codec_option(transport), *transport.options) if scoped(transport, each.dest) in values}
    common |= {name: mine.pop(name) for name in list(mine) if name in RUN_FIELDS}
    return RunConfig(transport=transport, part=args.part, settings=transport.settings(mine), **common)


def prepare_out(folder: str) -> Path:
    """The output folder, created if need be."""
    out = Path(folder)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {folder} is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"cannot create the folder {folder}: {error.strerror}") from None
    return out


def run_rounds(configs: list[RunConfig], args: argparse.Namespace, *, local_server: bool = True) -> Document:
    """Every variant's rounds, alternating, each a whole run."""
    rounds = rounds_for(args.rounds, configs[0])

    def one(config: RunConfig, number: int, of: int) -> RunResult:
        label = f"{config.transport.name} ({config.concurrency})" + (f", round {number} of {of}" if of > 1 else "")
        with report.progress_bar(console, not args.quiet, label) as progress:
            if not local_server:
                return answered_at_all(run(config, local_server=False, progress=progress), config)
            with config.transport.loopback(config) as local:
                return run(local, progress=progress)

    done: list[list[RunResult]] = [[] for _ in configs]
    try:
        alternate(configs, rounds, one, done)
    except (KeyboardInterrupt, Terminated):  # the rounds that finished are shown and written
        if any(done):
            finish(document.of_results([rounds for rounds in done if rounds], made_by(args)), args)
        raise
    return document.of_results(done, made_by(args))


def made_by(args: argparse.Namespace) -> dict:
    return {"command": args.command_text, "machine": machine_facts(TRANSPORTS.values())}


def answered_at_all(result: RunResult, config: RunConfig) -> RunResult:
    """A request side's result; one sentence, not a table of failures, if nobody answered."""
    if result.answered == 0:
        reasons = result.errors + result.failures
        raise UsageError(reasons[0].split(": ", 1)[-1] if reasons else f"no reply from {config.address}")
    return result


def finish(shown: Document, args: argparse.Namespace) -> int:
    report.print_results(console, errors, shown)
    report.write_outputs(shown, args.json, args.markdown)
    if args.pyperf:
        pyperf_file.write(shown, args.pyperf)
    return 0 if all(run.succeeded for run in document.variants(shown)) else EXIT_FAILED


def user_payload(args: argparse.Namespace) -> Payload | None:
    """--payload's values: its file is executed here, once, before any role starts."""
    return load_payload(args.payload) if args.payload else None


def cmd_run(args: argparse.Namespace) -> int:
    """run, and a tandem request side (against a running response side)."""
    config = config_for(args, TRANSPORTS[args.transport], user_payload(args))
    check_payload([config], lambda transport: "--codec")
    return finish(run_rounds([config], args, local_server=args.command == "run"), args)


def cmd_compare(args: argparse.Namespace) -> int:
    payload = user_payload(args)
    configs = [config_for(args, transport, payload) for transport in TRANSPORTS.values()]
    factorial = every_codec(list(TRANSPORTS.values()))  # each transport with each, beside its own codec
    if args.factorial:  # the same workload over each transport with each encoding, its own first
        configs = [config.with_(codec=codec) for config in configs
                   for codec in dict.fromkeys((config.codec, *factorial))]
    check_payload(configs, lambda transport: None if args.factorial else codec_flag(transport, len(TRANSPORTS)))
    compared = run_rounds(configs, args)
    if args.factorial:
        console.print(report.factorial_table(compared, factorial))
    return finish(compared, args)


def cmd_show(args: argparse.Namespace) -> int:
    """Saved documents printed and written again; a bench's results.json, its report."""
    from shared.bench import report as bench_report  # the bench's modules only where needed: a quicker start

    if any(bench_report.is_bench(path) for path in args.files):
        return show_bench(args)
    if args.out:
        raise UsageError("--out is for a bench's results.json: report.md and the plots")
    documents = [document.read(path) for path in args.files]
    shown = documents[0] if len(documents) == 1 else document.side_by_side(documents)
    for variant in document.variants(shown):  # today's words, "not recorded" for what a file lacks
        if variant.transport in TRANSPORTS:
            variant.parameters["described"] = TRANSPORTS[variant.transport].settings_type.described(variant.parameters)
    finish(shown, args)
    return 0


def show_bench(args: argparse.Namespace) -> int:
    """report.md printed, or with --out written with the plots (--json: results.json in today's format)."""
    if len(args.files) > 1 or args.markdown or args.pyperf:
        raise UsageError("a bench's results.json is shown alone, with --out DIR for report.md and the plots, "
                         "--json PATH for the file in the current format")
    from shared.bench import report as bench_report

    out = prepare_out(args.out) if args.out else None
    for line in bench_report.show(args.files[0], TRANSPORTS, out, args.json):
        console.print(line, highlight=False, markup=False, soft_wrap=True)
    return 0


def cmd_semantics(args: argparse.Namespace) -> int:
    check_timeout(args.timeout)
    chosen, notes = (cases(args.values), []) if args.values else corpus.build()
    with report.status(console, not args.quiet) as say:
        rows = semantics.measure(list(TRANSPORTS.values()), chosen, args.timeout,
                                 lambda path: say(f"sending {len(chosen)} values through {path}"))
    console.print(semantics_table.semantics_table(rows, args.brief))
    for note in notes:
        console.print(f"not run here: {note}", highlight=False, markup=False)
    semantics_table.write_semantics(rows, notes, args.json, args.markdown, args.brief)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """serve, broker and responders: the response side, or a part of it, until Ctrl-C or SIGTERM."""
    config = config_for(args, TRANSPORTS[args.transport])
    if args.part == "serve":
        config = config.transport.serving(config)

    def announce() -> None:
        console.print(f"reqrep {config.transport.name} {config.transport.announcement(config, args.part)} "
                      f"({config.concurrency}, codec {config.codec}); {how_to_stop()}", highlight=False, markup=False,
                      soft_wrap=True)

    serve(config, announce, with_server=config.alone.server)  # until a signal, which main() ends by
    return 0


def cmd_extra(args: argparse.Namespace) -> int:
    """A command of one transport only (`reqrep zmq keys`)."""
    extra = next(e for e in TRANSPORTS[args.transport].commands if e.name == args.part)
    for line in extra.run(vars(args)):
        console.print(line, highlight=False, markup=False)
    return 0


def bench_paths(args: argparse.Namespace) -> list:
    """Every transport's bench paths, as its bench flags (--broker) make them."""
    values = vars(args)
    return [path for transport in TRANSPORTS.values() for path in transport.paths_for_bench(
        {each.dest: values[scoped(transport, each.dest)] for each in transport.options
         if scoped(transport, each.dest) in values and "bench" in each.parts})]


def cmd_bench(args: argparse.Namespace) -> int:
    from shared.bench import engine as bench
    from shared.bench import report as bench_report
    from shared.bench import sweep

    paths = bench_paths(args)
    chosen = sweep.choose_sweep(args.preset, paths, args.requests, args.timeout, args.concurrency,
                                user_payload(args))
    if args.rounds is not None:
        chosen = dataclasses.replace(chosen, rounds=check_rounds(args.rounds))
    chosen = bench.leave_out(chosen, TRANSPORTS)
    for name, why in chosen.left_out:
        errors.print(f"reqrep: {name} left out, its codec cannot carry the values: {'; '.join(why)}",
                     highlight=False, markup=False)
    out = prepare_out(args.out or str(Path(BENCH_OUT) / chosen.preset))
    session = bench.Bench(chosen)
    try:
        with bench_report.sweep_bar(console, not args.quiet, session.planned) as progress:
            session.run(TRANSPORTS, progress)
    finally:  # also after Ctrl-C: what was measured is kept, and the terminal says where
        saved, written = bench_report.publish(session, out)
        for line in bench_report.summary(saved, written):
            (errors if session.interrupted else console).print(line, highlight=False, markup=False)
    return EXIT_FAILED if session.lost else 0


COMMANDS = {"run": cmd_run, "compare": cmd_compare, "show": cmd_show, "semantics": cmd_semantics, "serve": cmd_serve,
            "request": cmd_run, "extra": cmd_extra, "bench": cmd_bench}


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The options, or one sentence and exit 2 (a flag of another command: the commands that have it)."""
    grammar = Grammar(list(TRANSPORTS.values()))
    parser = grammar.build()
    args, extras = parser.parse_known_args(argv)
    args.command_text = shlex.join(["reqrep", *(sys.argv[1:] if argv is None else argv)])
    if extras:
        prog = command_line(args)
        flag = next((extra for extra in extras if extra.startswith("-")), extras[0])
        sentence = grammar.misplaced(flag, prog) or f"unrecognized arguments: {' '.join(extras)}"
        parser.exit(EXIT_USAGE, f"{prog}: error: {sentence} (see {prog} --help)\n")
    return args


def command_line(args: argparse.Namespace) -> str:
    """How the user named the command: 'reqrep run native', 'reqrep zmq broker', 'reqrep compare'."""
    if args.command == "run":
        return f"reqrep run {args.transport}"
    if args.command in ("serve", "request", "extra"):
        return f"reqrep {args.transport} {args.part}"
    return f"reqrep {args.command}"


def main(argv: list[str] | None = None) -> int:
    if not TRANSPORTS:  # an install older than the entry points: its metadata names none
        errors.print(f"reqrep: error: no transport is installed ({GROUP}): pip install -e . again", markup=False)
        return EXIT_USAGE
    args = parse(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="reqrep: %(message)s")
    signal.signal(signal.SIGTERM, raise_terminated)
    try:
        outputs.check(args)
        return COMMANDS[args.command](args)
    except (UsageError, RoleFailed) as error:
        errors.print(f"reqrep: error: {error}", highlight=False, markup=False)
        return EXIT_USAGE
    except MemoryError:
        errors.print(f"reqrep: error: {OUT_OF_MEMORY}", highlight=False, markup=False)
        return EXIT_USAGE
    except KeyboardInterrupt:
        errors.print("reqrep: interrupted", highlight=False)
        return ended_by(signal.SIGINT, argv)
    except Terminated:
        errors.print("reqrep: terminated", highlight=False)
        return ended_by(signal.SIGTERM, argv)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


if __name__ == "__main__":
    sys.exit(main())
