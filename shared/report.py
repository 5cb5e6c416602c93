"""What people read: the progress bar, the side-by-side table (terminal and Markdown), the JSON files."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from shared.results import RunResult, write_json

# (label, how to read it off a result, format); one row of the table each
ROWS: list[tuple[str, Callable[[RunResult], object], str]] = [
    ("concurrency", lambda r: r.parameters["concurrency"], "{}"),
    ("codec", lambda r: r.parameters["codec"], "{}"),
    ("requests ok", lambda r: r.ok, "{:,}"),
    ("failed", lambda r: r.failed, "{:,}"),
    ("duplicated (dropped)", lambda r: r.duplicated, "{:,}"),
    ("retries", lambda r: r.retries, "{:,}"),
    ("seconds", lambda r: r.seconds, "{:.2f}"),
    ("throughput (requests/s)", lambda r: r.throughput_rps, "{:,.0f}"),
    ("latency p50 (µs)", lambda r: r.latency_us["p50"], "{:,.1f}"),
    ("latency p99 (µs)", lambda r: r.latency_us["p99"], "{:,.1f}"),
    ("peak memory, all processes (MiB)", lambda r: r.rss_peak_mib_total, "{:,.1f}"),
    ("CPU seconds, all processes", lambda r: r.cpu_seconds, "{:.2f}"),
]


def title(results: list[RunResult]) -> str:
    p = results[0].parameters
    return (f"{p['example']} example, {p['workload']} workload: {p['requests']:,} requests, "
            f"{p['requesters']} requesters, {p['responders']} responders")


def cells(results: list[RunResult]) -> tuple[list[str], list[list[str]]]:
    header = ["", *(r.parameters["transport"] for r in results)]
    body = [[label, *(fmt.format(read(r)) for r in results)] for label, read, fmt in ROWS]
    return header, body


def table(results: list[RunResult]) -> Table:
    header, body = cells(results)
    shown = Table(title=title(results), title_justify="left")
    shown.add_column(header[0])
    for name in header[1:]:
        shown.add_column(name, justify="right")
    for row in body:
        shown.add_row(*row)
    return shown


def markdown(results: list[RunResult]) -> str:
    header, body = cells(results)
    lines = [f"**{title(results)}**", "", "| " + " | ".join(header) + " |",
             "|" + "---|" + "---:|" * (len(header) - 1)]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines) + "\n"


def print_results(console: Console, results: list[RunResult]) -> None:
    console.print(table(results))
    for result in results:
        transport = result.parameters["transport"]
        for error in result.errors:
            console.print(f"[red]{transport}: {error}[/red]")
        for failure in result.failures:
            console.print(f"[red]{transport}: {failure}[/red]")
        if result.interrupted:
            console.print(f"[red]{transport}: interrupted[/red]")


def write_outputs(results: list[RunResult], json_path: str | None, markdown_path: str | None = None) -> None:
    if json_path:
        documents = [r.to_json() for r in results]
        write_json(json_path, documents[0] if len(documents) == 1 else {"runs": documents})
    if markdown_path:
        with open(markdown_path, "w", encoding="utf-8") as out:
            out.write(markdown(results))


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
