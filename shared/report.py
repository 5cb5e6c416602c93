"""What people read: the progress bar, the side-by-side table (terminal and Markdown), the JSON files, and
the semantics table."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from shared.results import RunResult, write_json
from shared.semantics import Outcome, Row

SHOWN_THREAD_KINDS = 4
NOTHING = "—"  # a row that is this in every column is left out (CPU by thread, with processes)

# (label, how to read it off a result, format); one row of the table each
ROWS: list[tuple[str, Callable[[RunResult], object], str]] = [
    ("concurrency", lambda r: r.parameters["concurrency"], "{}"),
    ("codec", lambda r: r.parameters["codec"], "{}"),
    ("load", lambda r: load(r.parameters), "{}"),
    ("broker", lambda r: r.parameters.get("broker") or NOTHING, "{}"),
    ("service time", lambda r: r.parameters.get("service_time") or NOTHING, "{}"),
    ("fault", lambda r: r.fault or NOTHING, "{}"),
    ("requests ok", lambda r: r.ok, "{:,}"),
    ("failed", lambda r: r.failed, "{:,}"),
    ("duplicated (dropped)", lambda r: r.duplicated, "{:,}"),
    ("retries", lambda r: r.retries, "{:,}"),
    ("seconds", lambda r: r.seconds, "{:.2f}"),
    ("throughput (requests/s)", lambda r: r.throughput_rps if r.ok else None, "{:,.0f}"),
    ("latency p50 (µs)", lambda r: r.latency_us["p50"] if r.ok else None, "{:,.1f}"),
    ("latency p90 (µs)", lambda r: r.latency_us["p90"] if r.ok else None, "{:,.1f}"),
    ("latency p99 (µs)", lambda r: r.latency_us["p99"] if r.ok else None, "{:,.1f}"),
    ("latency p99.9 (µs)", lambda r: r.latency_us["p999"] if r.ok else None, "{:,.1f}"),
    ("latency max (µs)", lambda r: r.latency_us["max"] if r.ok else None, "{:,.1f}"),
    ("bytes per request (encoded / loopback)",
     lambda r: f"{r.bytes_per_request.get('total', 0):,} / {r.bytes_per_request.get('loopback', 0):,}", "{}"),
    ("payload, encoded (bytes; mean of its values)", lambda r: payload_size(r.bytes_per_request), "{}"),
    ("peak memory, all processes (MiB)", lambda r: r.rss_peak_mib_total, "{:,.1f}"),
    ("CPU seconds, all processes", lambda r: r.cpu_seconds, "{:.2f}"),
    ("CPU seconds by thread (one process)", lambda r: by_thread(r.thread_cpu), "{}"),
]


def by_thread(seconds: dict[str, float]) -> str:
    """The busiest kinds of thread and the rest: 'event loop (every task) 3.1, libzmq I/O 0.9, ...'."""
    if not seconds:
        return NOTHING
    ranked = sorted(seconds.items(), key=lambda item: -item[1])
    shown = [f"{kind} {value:.2f}" for kind, value in ranked[:SHOWN_THREAD_KINDS]]
    rest = sum(value for _, value in ranked[SHOWN_THREAD_KINDS:])
    return ", ".join(shown + ([f"other {rest:.2f}"] if rest else []))


def payload_size(weights: dict) -> str:
    """A --payload's values encoded as this path carries them, alone: the codec's bytes (zmq) or the pickle."""
    return f"{weights['payload']:,}" if "payload" in weights else NOTHING


def load(parameters: dict) -> str:
    if parameters.get("rate"):
        return f"{parameters['rate']:,.0f}/s open loop"
    window = parameters.get("window", 1)
    tuned = " batched" if parameters.get("batch") else ""
    return "lockstep" if window == 1 and not tuned else f"window {window}{tuned}"


def title(results: list[RunResult]) -> str:
    """What was asked of the run. A requester against a response side elsewhere knows its own side only."""
    p = results[0].parameters
    responders = "" if p["part"] == "request" else f", {counted(p['responders'], 'responder')}"
    payload = f" (payload {p['payload']})" if p.get("payload") else ""
    return (f"{p['example']} example, {p['workload']} workload{payload}: {counted(p['requests'], 'request')}, "
            f"{counted(p['requesters'], 'requester')}{responders}")


def counted(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def label(result: RunResult, results: list[RunResult]) -> str:
    """A column's name: the transport, and the codec too when a transport appears twice (--factorial)."""
    transport = result.parameters["transport"]
    if sum(r.parameters["transport"] == transport for r in results) > 1:
        return f"{transport}+{result.parameters['codec']}"
    return transport


def factorial_table(results: list[RunResult]) -> Table:
    """The 2 x 2 of `compare --factorial`: how much of the difference is the transport, how much the codec."""
    shown = Table(title="throughput (requests/s) and latency p50 (µs): transport x encoding", title_justify="left")
    codecs = ["msgpack", "pickle"]
    shown.add_column("transport")
    for codec in codecs:
        shown.add_column(codec, justify="right")
    for transport in dict.fromkeys(r.parameters["transport"] for r in results):
        row = [transport]
        for codec in codecs:
            found = [r for r in results if (r.parameters["transport"], r.parameters["codec"]) == (transport, codec)]
            row.append(f"{found[0].throughput_rps:,.0f} / {found[0].latency_us['p50']:,.0f}" if found else "")
        shown.add_row(*row)
    return shown


def cells(results: list[RunResult]) -> tuple[list[str], list[list[str]]]:
    header = ["", *(label(r, results) for r in results)]
    body = [[label, *(NOTHING if (value := read(r)) is None else fmt.format(value) for r in results)]
            for label, read, fmt in ROWS]
    return header, [row for row in body if any(cell != NOTHING for cell in row[1:])]  # no empty rows


def run_table(results: list[RunResult]) -> Table:
    header, body = cells(results)
    shown = Table(title=title(results), title_justify="left")
    shown.add_column(header[0])
    for name in header[1:]:
        shown.add_column(name, justify="right")
    for row in body:
        shown.add_row(*row)
    return shown


def run_markdown(results: list[RunResult]) -> str:
    header, body = cells(results)
    lines = [f"**{title(results)}**", "", "| " + " | ".join(header) + " |",
             "|" + "---|" + "---:|" * (len(header) - 1)]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines) + "\n"


def print_results(console: Console, diagnostics: Console, results: list[RunResult]) -> None:
    """The table on `console` (stdout: data); what went wrong on `diagnostics` (stderr), as plain text."""
    if results:
        console.print(run_table(results))
    for result in results:
        transport = result.parameters["transport"]
        for line in [*result.errors, *result.failures, *(["interrupted"] if result.interrupted else [])]:
            diagnostics.print(f"[red]{transport}: {escape(line)}[/red]", highlight=False)


def write_outputs(results: list[RunResult], json_path: str | None, markdown_path: str | None = None) -> None:
    if json_path:
        documents = [r.to_json() for r in results]
        write_json(json_path, documents[0] if len(documents) == 1 else {"runs": documents})
    if markdown_path:
        with open(markdown_path, "w", encoding="utf-8") as out:
            out.write(run_markdown(results))


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


def semantics_header(rows: list[Row]) -> list[str]:
    return ["case", "value", "type", *(rows[0].outcomes if rows else ()), "agree"]


def outcome_text(outcome: Outcome) -> str:
    return f"{outcome.outcome}: {outcome.detail}" if outcome.detail else outcome.outcome


def semantics_cells(row: Row) -> list[str]:
    return [row.case, row.value, row.type, *(outcome_text(outcome) for outcome in row.outcomes.values()),
            "yes" if row.agree else "no"]


def semantics_table(rows: list[Row]) -> Table:
    shown = Table(title="What each path does to Python values, end to end", title_justify="left")
    for name in semantics_header(rows):
        shown.add_column(name, overflow="fold")
    for row in rows:
        cells = semantics_cells(row)
        styled = [f"[{OUTCOME_STYLE[outcome.outcome]}]{escape(cell)}[/]"
                  for outcome, cell in zip(row.outcomes.values(), cells[3:-1], strict=True)]
        shown.add_row(*(escape(cell) for cell in cells[:3]), *styled, cells[-1])
    return shown


MARKDOWN_SPECIAL = set("\\`*_|<>[]")  # what would otherwise turn into emphasis, tags, links or new cells


def _markdown_cell(text: str) -> str:
    return "".join(f"\\{c}" if c in MARKDOWN_SPECIAL else c for c in text)


def semantics_markdown(rows: list[Row], notes: list[str]) -> str:
    """The table as the README holds it: deterministic, so a fresh run can be compared with it."""
    header = semantics_header(rows)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_markdown_cell(cell) for cell in semantics_cells(row)) + " |" for row in rows]
    lines += ["", *(f"Not run here: {note}." for note in notes)] if notes else []
    return "\n".join(lines) + "\n"


def write_semantics(rows: list[Row], notes: list[str], json_path: str | None, markdown_path: str | None) -> None:
    if json_path:
        write_json(json_path, [row.to_json() for row in rows])
    if markdown_path:
        with open(markdown_path, "w", encoding="utf-8") as out:
            out.write(semantics_markdown(rows, notes))


@contextlib.contextmanager
def status(console: Console, enabled: bool) -> Iterator[Callable[[str], None]]:
    """A spinner with one line of what is happening, or nothing (--quiet, no terminal)."""
    if not enabled or not console.is_terminal:
        yield lambda text: None
        return
    with console.status("") as shown:
        yield lambda text: shown.update(text)
