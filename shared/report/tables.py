"""The terminal's progress bar, side-by-side table and errors, and the JSON and Markdown files of them."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from shared.core.outputs import write_json, write_text
from shared.report.document import label
from shared.report.markdown import run_markdown
from shared.report.records import Document, Variant, variants
from shared.report.rows import cells, kept, ratio_lines, title


def factorial_table(document: Document, codecs: tuple[str, ...]) -> Table:
    """The 2 x 2 of `compare --factorial`: how much of the difference is the transport, how much the codec."""
    runs = variants(document)
    shown = Table(title="throughput (requests/s) and latency p50 (µs): transport x encoding", title_justify="left")
    shown.add_column("transport")
    for codec in codecs:
        shown.add_column(codec, justify="right")
    for transport in dict.fromkeys(run.transport for run in runs):
        row = [transport]
        for codec in codecs:
            found = [run.headline for run in runs if (run.transport, run.parameters["codec"]) == (transport, codec)]
            row.append(f"{found[0].throughput_rps:,.0f} / {found[0].latency_us['p50']:,.0f}" if found else "")
        shown.add_row(*row)
    return shown


def run_table(document: Document) -> Table:
    """The table for the terminal, its text escaped (rich would take `[int]` for markup)."""
    header, body = cells(document)
    shown = Table(title=escape(title(document)), title_justify="left")
    shown.add_column(escape(header[0]))
    for name in header[1:]:
        shown.add_column(escape(name), justify="right")
    for row in body:
        shown.add_row(*(escape(cell) for cell in row))
    return shown


def print_results(console: Console, diagnostics: Console, document: Document) -> None:
    """The table and the ratios on `console` (stdout: data); what went wrong on `diagnostics` (stderr)."""
    console.print(run_table(document))
    for line in ratio_lines(document):
        console.print(line, highlight=False, markup=False)
    runs = variants(document)
    for run in runs:
        name = label(run, runs)
        figures = run.headline
        for line in [*figures.errors, *figures.failures, *(["interrupted"] if figures.interrupted else [])]:
            diagnostics.print(f"[red]{escape(name)}: {escape(line)}[/red]", highlight=False)
        for line in stalls_of(run):  # recomputed from the rounds: a file older than "stalls" says it too
            diagnostics.print(f"[yellow]{escape(name)}: stalled, {escape(line)}[/yellow]", highlight=False)


def stalls_of(run: Variant) -> list[str]:
    """Why each round of `run` that stalled did, and what the table did with it."""
    stalled = [(number, each.stall) for number, each in enumerate(run.rounds, 1) if each.stall]
    return [f"round {number}: {why}; {kept(run, len(stalled))}" for number, why in stalled]


def write_outputs(document: Document, json_path: str | None, markdown_path: str | None = None) -> None:
    if json_path:
        write_json(json_path, document.to_json())
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


@contextlib.contextmanager
def status(console: Console, enabled: bool) -> Iterator[Callable[[str], None]]:
    """A spinner with one line of what is happening, or nothing (--quiet, no terminal)."""
    if not enabled or not console.is_terminal:
        yield lambda text: None
        return
    with console.status("") as shown:
        yield lambda text: shown.update(text)
