"""What `reqrep bench` leaves for people: the progress bar, results.json, report.md (an introduction, then
each study's section) and the plots, rendered from results.json alone: `reqrep show` renders them again."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from shared.bench import plots as bench_plots
from shared.bench.engine import SweepProgress, document, measured_of, read
from shared.bench.reading import RATIOS, listed
from shared.bench.study import Measured, Section, Sweep
from shared.core.errors import UsageError
from shared.core.machine import machine_sentence
from shared.core.outputs import write_json, write_text
from shared.core.transport import Transport
from shared.report.document import load
from shared.report.markdown import markdown_table


@contextlib.contextmanager
def sweep_bar(console: Console, enabled: bool, runs: int) -> Iterator[SweepProgress | None]:
    """Points done, the one under way, and an ETA; None without a terminal or with --quiet. Refreshed by the
    sweep's own loop, not a thread: points fork, and a fork should find no thread."""
    if not enabled or not console.is_terminal:
        yield None
        return
    with Progress(TextColumn("{task.fields[points]}"), BarColumn(bar_width=24), TimeElapsedColumn(),
                  TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.description}"), console=console,
                  auto_refresh=False, transient=True, speed_estimate_period=120) as bar:
        task = bar.add_task("", total=runs, points=f"0/{runs} points")

        def update(done: float, label: str) -> None:
            bar.update(task, completed=done, description=label, points=f"{int(done)}/{runs} points")
            bar.refresh()

        yield update


# ---- the sections ------------------------------------------------------------------------------------------
def introduction(bench: Measured) -> list[str]:
    sweep = bench.sweep
    roles = listed(bench.server_roles, "or")
    rounds = (f" Each figure is the median of the point's {sweep.rounds} rounds, each round a whole pass over the "
              "plan, so that a point's rounds are apart in time; a table that lists every round says so."
              if sweep.rounds > 1 else "")
    lines = [f"# reqrep bench: the {sweep.preset} preset", "",
             f"Measured {bench.date[:10]} at {bench.date[11:16]} UTC on {machine_sentence(bench.machine)}. "
             f"{tally(bench)}.", "",
             f"Every point is a real `reqrep run` on loopback, verified reply by reply: {workload(sweep)}; "
             f"{sweep.requesters} requesters and {sweep.responders} responders unless a table says otherwise, "
             "each requester sending its next request when the reply to the last one came (window 1) unless a "
             "table gives a window; every role a process unless the table says threads (every role a thread of "
             "one process) or asyncio (every responder and requester a task of one event loop, the "
             f"{roles} a thread). Throughput counts from the moment every requester is released until the last "
             "reply; latency is the time from sending a request to receiving its reply. The machine may be "
             "shared, so absolute numbers vary from one bench to the next: read the ratios between paths "
             f"measured side by side. {RATIOS}{rounds}", ""]
    if bench.interrupted:
        under_way = "; ".join(f"{record.point.label()}, round {record.cut_short}" for record in bench.cut_short)
        cut = f" The point under way then ({under_way}) was cut short, and counts as not run." if under_way else ""
        lines += [f"**Interrupted:** the bench was stopped before its end; the tables hold the points measured.{cut}",
                  ""]
    ran = {path.name for study in sweep.studies for path in study.paths(sweep)}
    lines += markdown_table(["path", "what travels, and how"],
                            [[path.name, path.description] for path in sweep.paths if path.name in ran], numbers=False)
    return [*lines, ""]


def workload(sweep: Sweep) -> str:
    if sweep.payload is not None:
        return f"the values of `{sweep.payload.source}` as the requests, each reply the request as it was sent"
    return ("the echo workload, each request's text padded to the payload size where a table gives one (the reply "
            "is the request and 10 bytes more), the example's text otherwise")


def plots_section(bench: Measured, plots: dict[str, str] | None) -> list[Section]:
    """The plots the studies drew, with their captions: {file name: caption}, or None without matplotlib."""
    if not any(study.figures for study in bench.sweep.studies):
        return []
    if bench.interrupted:
        return [Section("Plots", "No plots: the bench was interrupted before its end.", [])]
    if plots is None:
        return [Section("Plots", "matplotlib is not installed, so there are no plots: `pip install 'reqrep[plot]'` "
                        "and `reqrep show results.json --out DIR` draws them from the results.", [])]
    shown = [line for name, caption in plots.items() for line in (f"![{caption}]({name})", caption)]
    return [Section("Plots", "", [], shown)]


def lost_points(bench: Measured) -> list[str]:
    """Each point that lost requests, and why (three reasons at most)."""
    lines = []
    for record in bench.lost:
        reasons = [*record.errors.values(), *(reason for result in record.results.values()
                                              for reason in result.errors + result.failures)]
        lines.append(f"{record.point.label()}: {'; '.join(reasons[:3]) or 'requests unanswered'}")
    return lines


def stalled_section(bench: Measured) -> list[Section]:
    """The rounds with retries and no fault inflicted: their medians leave them out, unless all stalled."""
    stalled = [f"- {record.point.label()}, round {n}: {result.stall}" for record in bench.records.values()
               for n, result in sorted(record.results.items()) if result.stall]
    if not stalled:
        return []
    return [Section("Rounds that stalled", "Retries with no fault inflicted: a reply was lost or held, and the "
                    "round's time is mostly a timeout waited out. A point's medians leave these rounds out, unless "
                    "every round of it stalled.", [], ["\n".join(stalled)])]


def section_lines(section: Section) -> list[str]:
    """A section as Markdown: each part a paragraph of its own."""
    lines = [f"## {section.heading}", "", *([section.text, ""] if section.text else [])]
    for table in section.tables:
        lines += [table.caption, ""] if table.caption else []
        lines += [*markdown_table(table.header, table.rows), ""]
    return lines + [line for paragraph in section.after for line in (paragraph, "")]


def report_markdown(bench: Measured, plots: dict[str, str] | None) -> str:
    lost = "\n".join(f"- {line}" for line in lost_points(bench))
    sections = [*(each for study in bench.sweep.studies for each in study.sections(bench)),
                *plots_section(bench, plots), *stalled_section(bench),
                *([Section("Points that lost requests", lost, [])] if lost else [])]
    return "\n".join(introduction(bench) + [line for section in sections for line in section_lines(section)])


def publish(bench: Measured, out: Path) -> tuple[Measured, list[Path]]:
    """results.json, then report.md and the plots from it as read back (no plots when interrupted)."""
    saved = document(bench)
    write_json(str(out / "results.json"), saved)
    again = measured_of(json.loads(json.dumps(saved)))  # exactly what `reqrep show` will read
    return again, [out / "results.json", *render(again, out, plots=not bench.interrupted)]


def render(bench: Measured, out: Path, plots: bool = True) -> list[Path]:
    """report.md and the plots in `out`, from what a bench measured."""
    drawn = bench_plots.draw(bench, out) if plots else {}
    write_text(out / "report.md", report_markdown(bench, drawn))
    return [out / "report.md", *(out / name for name in drawn or {})]


def is_bench(path: str) -> bool:
    """Whether `path` is a results.json of `reqrep bench` (any version)."""
    try:
        found = load(path)
    except UsageError:
        return False
    return isinstance(found, dict) and str(found.get("format", "")).startswith("reqrep-bench/")


def show(path: str, transports: Mapping[str, Transport], out: Path | None, saved: str | None) -> list[str]:
    """`reqrep show results.json`: report.md and the plots written in `out` (the console's lines returned),
    else report.md's text; `saved`: the document written again in the current format."""
    data, bench = read(path, transports)
    if saved:
        write_json(saved, data)
    if out is None:  # the plots named as the bench drew them beside results.json
        beside = {name: caption for study in bench.sweep.studies for name, (caption, _) in study.figures.items()
                  if (Path(path).parent / name).exists()}
        return report_markdown(bench, beside or (None if not bench.interrupted else {})).splitlines()
    return summary(bench, render(bench, out, plots=not bench.interrupted))


def tally(bench: Measured) -> str:
    failed = bench.lost
    meant = [r for r in bench.records.values() if r.failed and r not in failed and bench.meant_to_lose(r)]
    lost = (f"{len(failed)} points lost requests (listed at the end)" if failed else
            "no point lost a request" + (f" but the {len(meant)} that lose them on purpose" if meant else ""))
    rounds = f" ({bench.runs} of {bench.planned} runs: {bench.sweep.rounds} rounds)" if bench.sweep.rounds > 1 else ""
    measured = sum(1 for record in bench.records.values() if record.results or record.errors)
    stopped = "; interrupted" if bench.interrupted else ""
    return f"{measured} of {bench.points_planned} points{rounds} in {bench.seconds:,.0f} s; {lost}{stopped}"


def summary(bench: Measured, written: list[Path]) -> list[str]:
    lines = [tally(bench), *(verdict for study in bench.sweep.studies if (verdict := study.verdict(bench)))]
    lines += [f"lost requests: {line}" for line in lost_points(bench)]
    drawn = any(path.suffix == ".png" for path in written)
    if not drawn and not bench.interrupted and any(study.figures for study in bench.sweep.studies):
        lines.append("no plots: matplotlib is not installed (pip install 'reqrep[plot]')")
    return [*lines, "wrote " + ", ".join(str(path) for path in written)]
