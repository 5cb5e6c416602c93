"""What people read: the progress bar, the side-by-side table of run or compare documents (terminal and
Markdown) with the ratios under a comparison, the JSON files, and the semantics table."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from shared.core.machine import machine_sentence
from shared.core.outputs import write_json, write_text
from shared.core.results import stall_of
from shared.report.caption import NOTHING, differing_rows, title
from shared.report.document import COMPARE, label, variants
from shared.report.statistics import CONFIDENCE
from shared.semantics.outcomes import Outcome, Row


def median_cell(read: Callable[[dict], float], spread_of: Callable[[dict], list], shape: str) -> Callable[[dict], str]:
    """A median figure, and the lowest and highest round after it when there were several; nothing for a run
    in which no request succeeded (its throughput and latencies would describe failures)."""

    def cell(run: dict) -> str:
        if not run["ok"]:
            return NOTHING
        text = shape.format(read(run))
        if len(run["rounds"]) < 2:
            return text
        low, high = spread_of(run["spread"])
        return f"{text} ({shape.format(low)}–{shape.format(high)})"

    return cell


def latency_cell(key: str) -> Callable[[dict], str]:
    return median_cell(lambda run: run["latency_us"][key], lambda s: s["latency_us"][key], "{:,.1f}")


# One row of the table each: (label, the cell of a run document). Figures are medians of the rounds, with the
# lowest and highest round in brackets; counts, seconds and CPU seconds are the rounds' sums.
ROWS: list[tuple[str, Callable[[dict], str]]] = [
    ("concurrency", lambda run: run["concurrency"]),
    ("codec", lambda run: run["codec"]),
    ("load", lambda run: load(run)),
    ("service time", lambda run: run.get("service_time") or NOTHING),
    ("fault", lambda run: fault(run)),
    ("rounds", lambda run: f"{len(run['rounds'])}"),
    ("requests ok", lambda run: f"{run['ok']:,}"),
    ("failed", lambda run: f"{run['failed']:,}"),
    ("duplicated (dropped)", lambda run: f"{run['duplicated']:,}"),
    ("retries", lambda run: f"{run['retries']:,}"),
    ("stalled (retries with no fault)", lambda run: stalled(run)),
    ("seconds, all rounds", lambda run: f"{run['seconds']:.2f}"),
    ("throughput (requests/s)",
     median_cell(lambda run: run["throughput_rps"], lambda s: s["throughput_rps"], "{:,.0f}")),
    ("latency p50 (µs)", latency_cell("p50")),
    ("latency p90 (µs)", latency_cell("p90")),
    ("latency p99 (µs)", latency_cell("p99")),
    ("latency p99.9 (µs)", latency_cell("p999")),
    ("latency max (µs)", latency_cell("max")),
    ("bytes per request (encoded / loopback)",
     lambda run: f"{run['bytes_per_request'].get('total', 0):,} / {run['bytes_per_request'].get('loopback', 0):,}"),
    ("payload, encoded (bytes; mean of its values)", lambda run: payload_size(run["bytes_per_request"])),
    ("memory: PSS of all processes (MiB)",
     median_cell(lambda run: run["pss_peak_mib_total"], lambda s: s["pss_peak_mib_total"], "{:,.1f}")),
    ("CPU seconds, all processes", lambda run: f"{run['cpu_seconds']:.2f}"),
    ("CPU seconds by thread (one process)", lambda run: by_thread(run.get("cpu_seconds_by_thread", {}))),
]
SHOWN_THREAD_KINDS = 4
RATIO_NAMES = {"throughput_rps": "throughput", "latency_p50_us": "latency p50", "latency_p99_us": "latency p99"}


def by_thread(seconds: dict[str, float]) -> str:
    """The busiest kinds of thread and the rest: 'event loop (every task) 3.1, libzmq I/O 0.9, ...'."""
    if not seconds:
        return NOTHING
    ranked = sorted(seconds.items(), key=lambda item: -item[1])
    shown = [f"{kind} {value:.2f}" for kind, value in ranked[:SHOWN_THREAD_KINDS]]
    rest = sum(value for _, value in ranked[SHOWN_THREAD_KINDS:])
    return ", ".join(shown + ([f"other {rest:.2f}"] if rest else []))


def fault(run: dict) -> str:
    """What --fault did: when it struck, or that the run ended before it was due (never silently nothing)."""
    if run.get("fault_inflicted"):
        return run["fault_inflicted"]
    return f"{run['fault']}: not inflicted, the run ended first" if run.get("fault") else NOTHING


def stalled(run: dict) -> str:
    """How many rounds stalled (shared.core.results.stall_of), left out of the medians unless all did."""
    count = sum(1 for each in run["rounds"] if stall_of(each))
    if not count:
        return "0"
    return f"{count:,}, {kept(run, count)}"


def kept(run: dict, count: int) -> str:
    """What the medians of `run` did with its `count` stalled rounds: a file written before reqrep marked
    stalls (no "stalled_rounds") has them in."""
    if "stalled_rounds" not in run:
        return "in the medians (a file older than the marking of stalls)"
    return "all: the figures measure the wait" if count == len(run["rounds"]) else "left out of the medians"


def payload_size(weights: dict) -> str:
    """A --payload's values encoded as this path carries them, alone: the codec's bytes (zmq) or the pickle."""
    return f"{weights['payload']:,}" if "payload" in weights else NOTHING


def load(parameters: dict) -> str:
    if parameters.get("rate"):
        return f"{parameters['rate']:,.0f}/s open loop"
    window = parameters.get("window", 1)
    return "lockstep" if window == 1 else f"window {window}"


def factorial_table(document: dict, codecs: tuple[str, ...]) -> Table:
    """The 2 x 2 of `compare --factorial`: how much of the difference is the transport, how much the codec."""
    runs = variants(document)
    shown = Table(title="throughput (requests/s) and latency p50 (µs): transport x encoding", title_justify="left")
    shown.add_column("transport")
    for codec in codecs:
        shown.add_column(codec, justify="right")
    for transport in dict.fromkeys(run["transport"] for run in runs):
        row = [transport]
        for codec in codecs:
            found = [run for run in runs if (run["transport"], run["codec"]) == (transport, codec)]
            row.append(f"{found[0]['throughput_rps']:,.0f} / {found[0]['latency_us']['p50']:,.0f}" if found else "")
        shown.add_row(*row)
    return shown


def with_settings(rows: list, runs: list[dict]) -> list:
    """ROWS with, after the load, a row for each setting a transport describes (Settings.described)."""
    described = sorted(dict.fromkeys(name for run in runs for name in run.get("described", {})),
                       key=lambda name: name == "security")  # last, for every transport
    own = [(name, lambda run, name=name: run.get("described", {}).get(name, NOTHING)) for name in described]
    at = next(index for index, (name, _) in enumerate(rows) if name == "load") + 1
    return rows[:at] + own + rows[at:]


def headers(runs: list[dict]) -> list[str]:
    """The columns' names, numbered where two would be the same (files of one variant, shown together)."""
    names = [label(run, runs) for run in runs]
    return [f"{name} #{names[:at].count(name) + 1}" if names.count(name) > 1 else name
            for at, name in enumerate(names)]


def cells(document: dict) -> tuple[list[str], list[list[str]]]:
    runs = variants(document)
    header = ["", *headers(runs)]
    rows = differing_rows(runs) + with_settings(ROWS, runs)
    body = [[name, *(read(run) for run in runs)] for name, read in rows]
    return header, [row for row in body if any(cell != NOTHING for cell in row[1:])]  # no empty rows


def run_table(document: dict) -> Table:
    """The table for the terminal. Its text is escaped: rich would take `[int]` in a payload's name, or
    any other bracketed word, for markup and drop it."""
    header, body = cells(document)
    shown = Table(title=escape(title(document)), title_justify="left")
    shown.add_column(escape(header[0]))
    for name in header[1:]:
        shown.add_column(escape(name), justify="right")
    for row in body:
        shown.add_row(*(escape(cell) for cell in row))
    return shown


def ratio_lines(document: dict) -> list[str]:
    """Under a comparison: each ratio, the median of the rounds' with its 95% interval, and which differences
    that interval calls significant; with one round, that there is no interval."""
    ratios = document.get("ratios") if document["format"] == COMPARE else None
    if not ratios:
        return []
    rounds = ratios["rounds"]
    figures = ", ".join(f"{name} {ratio_text(ratios[key])}" for key, name in RATIO_NAMES.items())
    over = "one round" if rounds == 1 else f"paired round by round over {rounds} rounds"
    shape = "median" if rounds == 1 else f"median ({CONFIDENCE:.0%} interval)"
    lines = [f"{ratios['numerator']} / {ratios['denominator']}, {over}, {shape}: {figures}"]
    if ratios.get("stalled_rounds"):
        lines.append(f"Left out of the ratios: {ratios['stalled_rounds']} pair(s) of rounds in which a round "
                     "stalled (retries with no fault inflicted).")
    judged = {key: name for key, name in RATIO_NAMES.items() if ratios[key]["low"] is not None}
    if not judged:
        lines.append(("One round" if rounds == 1 else "Fewer than two rounds measured") +
                     ": no interval, so no difference is called significant (--rounds 2 or more give one).")
        return lines
    significant = [name for key, name in judged.items() if ratios[key]["significant"]]
    others = [name for key, name in judged.items() if not ratios[key]["significant"]]
    lines.append(f"Significant (the {CONFIDENCE:.0%} interval leaves out 1): {', '.join(significant) or 'none'}"
                 + (f"; not: {', '.join(others)}" if others else "") + ".")
    return lines


def ratio_text(ratio: dict) -> str:
    """'3.02 (2.91–3.13)'; '3.02' with one round; 'not measured' when the figure was not (--no-latency)."""
    if ratio["median"] is None:
        return "not measured"
    if ratio["low"] is None:
        return digits(ratio["median"])
    return f"{digits(ratio['median'])} ({digits(ratio['low'])}–{digits(ratio['high'])})"


def digits(value: float) -> str:
    """Three significant digits, kept when they are zeros: '3.00', '0.346', '125'."""
    return f"{value:#.3g}".rstrip(".")


def run_markdown(document: dict) -> str:
    header, body = cells(document)
    lines = [f"**{title(document)}**", "", "| " + " | ".join(header) + " |",
             "|" + "---|" + "---:|" * (len(header) - 1)]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    notes = ratio_lines(document) + made(document)
    return "\n".join(lines + ([""] + notes if notes else [])) + "\n"


def made(document: dict) -> list[str]:
    """Where a Markdown table comes from: the command, when, and on what (documents written before reqrep
    recorded these say nothing)."""
    if "command" not in document or "machine" not in document:
        return []
    date = document["date"]
    return [f"Made by `{document['command']}` on {date[:10]} at {date[11:16]} UTC, on "
            f"{machine_sentence(document['machine'])}."]


def print_results(console: Console, diagnostics: Console, document: dict) -> None:
    """The table and the ratios on `console` (stdout: data); what went wrong on `diagnostics` (stderr)."""
    console.print(run_table(document))
    for line in ratio_lines(document):
        console.print(line, highlight=False, markup=False)
    runs = variants(document)
    for run in runs:
        name = label(run, runs)
        for line in [*run["errors"], *run["failures"], *(["interrupted"] if run["interrupted"] else [])]:
            diagnostics.print(f"[red]{escape(name)}: {escape(line)}[/red]", highlight=False)
        for line in stalls_of(run):  # recomputed from the rounds: a file older than "stalls" says it too
            diagnostics.print(f"[yellow]{escape(name)}: stalled, {escape(line)}[/yellow]", highlight=False)


def stalls_of(run: dict) -> list[str]:
    """Why each round of `run` that stalled did, and what the table did with it."""
    stalled = [(number, stall_of(each)) for number, each in enumerate(run["rounds"], 1) if stall_of(each)]
    return [f"round {number}: {why}; {kept(run, len(stalled))}" for number, why in stalled]


def write_outputs(document: dict, json_path: str | None, markdown_path: str | None = None) -> None:
    if json_path:
        write_json(json_path, document)
    if markdown_path:
        write_text(markdown_path, run_markdown(document))


@contextlib.contextmanager
def progress_bar(console: Console, enabled: bool, label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A live bar of requests answered and the current rate, or None when not wanted (--quiet, no tty)."""
    if not enabled or not console.is_terminal:
        yield None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("[progress.data.speed]{task.fields[rate]}"),
                  TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task(label, total=None, rate="")

        def update(done: int, planned: int) -> None:
            bar.update(task, completed=done, total=planned)
            speed = bar.tasks[task].speed
            bar.update(task, rate=f"{speed:,.0f} req/s" if speed else "")

        yield update


# ---- the semantics table ---------------------------------------------------------------------------------
OUTCOME_STYLE = {"identical": "green", "changed": "yellow", "error": "red"}


def semantics_header(rows: list[Row], brief: bool = False) -> list[str]:
    paths = list(rows[0].outcomes) if rows else []
    return ["case", "type", *paths] if brief else ["case", "value", "type", *paths, "agree"]


def outcome_text(outcome: Outcome, brief: bool = False) -> str:
    """'error: encoding at the requester: TypeError: can not ...'; briefly, '= ', the change, or the stage
    and the exception's type: 'error encoding at the requester (TypeError)'."""
    if not brief:
        return f"{outcome.outcome}: {outcome.detail}" if outcome.detail else outcome.outcome
    if outcome.outcome == "identical":
        return "="
    if outcome.outcome == "changed":
        return outcome.detail
    stage, _, error = outcome.detail.partition(": ")
    return f"error {stage} ({error.split(':', 1)[0]})" if error else f"error {stage}"


def shown_rows(rows: list[Row], brief: bool) -> list[Row]:
    """Every row; briefly, those where the paths disagree."""
    return [row for row in rows if not (brief and row.agree)]


def semantics_cells(row: Row, brief: bool = False) -> list[str]:
    outcomes = [outcome_text(outcome, brief) for outcome in row.outcomes.values()]
    if brief:
        return [row.case, row.type, *outcomes]
    return [row.case, row.value, row.type, *outcomes, "yes" if row.agree else "no"]


def semantics_table(rows: list[Row], brief: bool = False) -> Table:
    title = "Where the paths disagree" if brief else "What each path does to Python values, end to end"
    shown = Table(title=title, title_justify="left")
    leading = 2 if brief else 3
    for name in semantics_header(rows, brief):
        shown.add_column(name, overflow="fold")
    for row in shown_rows(rows, brief):
        cells = semantics_cells(row, brief)
        styled = [f"[{OUTCOME_STYLE[outcome.outcome]}]{escape(cell)}[/]"
                  for outcome, cell in zip(row.outcomes.values(), cells[leading:leading + len(row.outcomes)],
                                           strict=True)]
        shown.add_row(*(escape(cell) for cell in cells[:leading]), *styled, *cells[leading + len(row.outcomes):])
    return shown


MARKDOWN_SPECIAL = set("\\`*_|<>[]")  # what would otherwise turn into emphasis, tags, links or new cells


def _markdown_cell(text: str) -> str:
    return "".join(f"\\{c}" if c in MARKDOWN_SPECIAL else c for c in text)


def semantics_markdown(rows: list[Row], notes: list[str], brief: bool = False) -> str:
    """The table as Markdown: deterministic, so a fresh run can be compared with it (the README holds the
    brief one)."""
    header = semantics_header(rows, brief)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_markdown_cell(cell) for cell in semantics_cells(row, brief)) + " |"
              for row in shown_rows(rows, brief)]
    lines += ["", *(f"Not run here: {note}." for note in notes)] if notes else []
    return "\n".join(lines) + "\n"


def write_semantics(rows: list[Row], notes: list[str], json_path: str | None, markdown_path: str | None,
                    brief: bool = False) -> None:
    """Every row as JSON, whatever `brief`; the Markdown table, brief or whole."""
    if json_path:
        write_json(json_path, [row.to_json() for row in rows])
    if markdown_path:
        write_text(markdown_path, semantics_markdown(rows, notes, brief))


@contextlib.contextmanager
def status(console: Console, enabled: bool) -> Iterator[Callable[[str], None]]:
    """A spinner with one line of what is happening, or nothing (--quiet, no terminal)."""
    if not enabled or not console.is_terminal:
        yield lambda text: None
        return
    with console.status("") as shown:
        yield lambda text: shown.update(text)
