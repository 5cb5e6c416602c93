"""What `reqrep bench` leaves for people: the progress bar over the whole sweep, results.json, report.md (tables
a reader understands without the code, each with a sentence on what it shows) and the plots of bench_plots."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from shared import bench_plots
from shared.bench import Bench, Record, SweepProgress
from shared.results import RunResult, write_json
from shared.sizes import KIB, size_text

STALL_PAYLOADS = (KIB, 16 * KIB, 32 * KIB)
STALL_TARGET = 3.0  # native p50 at 32 KiB at most this many times its p50 at 1 KiB
NOT_RUN = "—"


@contextlib.contextmanager
def sweep_bar(console: Console, enabled: bool, runs: int) -> Iterator[SweepProgress | None]:
    """Points done of the whole sweep, the one under way, and an ETA; None without a terminal or with --quiet.
    Refreshed by the sweep's own loop rather than a thread: points fork, and a fork should find no thread."""
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


# ---- looking records up ------------------------------------------------------------------------------------
def find(bench: Bench, path: str, concurrency: str, payload: int, *, window: int | None = None,
         requesters: int | None = None, responders: int | None = None) -> Record | None:
    """The record of one point, if it ran; window and counts default to those of the payload study."""
    wanted = (path, concurrency, payload, bench.sweep.path(path).window if window is None else window,
              requesters or bench.sweep.requesters, responders or bench.sweep.responders)
    for record in bench.records.values():
        p = record.point
        if (p.path, p.concurrency, p.payload_bytes, p.window, p.requesters, p.responders) == wanted:
            return record
    return None


def measured(record: Record | None, *reads: Callable[[RunResult], float]) -> str:
    """The median over the point's rounds of each figure read, "a / b" for two; or why there is none."""
    if record is None:
        return NOT_RUN
    if not record.results:
        return "failed"
    if not record.succeeded:
        return f"lost {record.failed:,}"
    return " / ".join(f"{record.median(read):,.0f}" for read in reads)


def rate(result: RunResult) -> float:
    return result.throughput_rps


def latency_of(key: str) -> Callable[[RunResult], float]:
    return lambda result: result.latency_us[key]


p50_of, p99_of = latency_of("p50"), latency_of("p99")


def p50(record: Record | None) -> float | None:
    return record.latency("p50") if record is not None and record.succeeded else None


def ratio(top: float | None, bottom: float | None) -> str:
    return f"{top / bottom:.1f}×" if top and bottom else NOT_RUN


def markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1),
            *("| " + " | ".join(row) + " |" for row in rows), ""]


def modes(bench: Bench, payload: int) -> list[str]:
    return [c for c in bench.sweep.modes if c == "processes" or payload in bench.sweep.threads_payloads]


# ---- the sections ------------------------------------------------------------------------------------------
def machine_sentence(machine: dict) -> str:
    kind = "virtual machine" if machine.get("virtual_machine") else "machine"
    versions = ", ".join(f"{name} {version}" for name, version in machine["versions"].items() if version)
    return (f"a {machine['cores']}-core {kind} ({machine['cpu_model']}, {machine['memory_gib']:g} GiB, "
            f"{machine['system']} {machine['kernel']}); {versions}; load average {machine['load_average'][0]:g} "
            f"when the sweep began")


def introduction(bench: Bench) -> list[str]:
    sweep = bench.sweep
    lines = [f"# reqrep bench: the {sweep.preset} sweep", "",
             f"Measured {bench.date[:10]} at {bench.date[11:16]} UTC on {machine_sentence(bench.machine)}. "
             f"{tally(bench)}.", "",
             "Every point is a real `reqrep run` on loopback, verified reply by reply: the echo workload with each "
             f"request's text padded to the payload size (the reply is the request and 10 bytes more), "
             f"{sweep.requesters} requesters and {sweep.responders} responders unless a table says otherwise, "
             "each requester sending its next request when the reply to the last one came (window 1), every role a "
             "process unless the table says threads (every role a thread of one process) or asyncio (every "
             "responder and requester a task of one event loop, the broker or server a thread). Throughput "
             "counts from the moment every requester is "
             "released until the last reply; latency is the time from sending a request to receiving its reply. "
             "The machine may be shared, so absolute numbers vary from one sweep to the next: read the ratios "
             "between paths measured side by side." + (
                 f" Each figure is the median of the point's {sweep.rounds} rounds, whole passes over the sweep "
                 "minutes apart." if sweep.rounds > 1 else ""), ""]
    if bench.interrupted:
        lines += ["**Interrupted:** the sweep was stopped before its end; the tables hold the points measured.", ""]
    lines += ["| path | what travels, and how |", "|---|---|"]
    lines += [f"| {path.name} | {path.description} |" for path in sweep.paths] + [""]
    counts = [[size_text(payload), *(f"{point.requests:,}" for point in bench.plan
                                     if point.payload_bytes == payload and "payload" in bench.plan[point]
                                     and point.concurrency == "processes")] for payload in sweep.payloads]
    lines += ["Requests per point fall as payloads grow, so that each point takes about as long; with fewer than "
              "100 requests, p99 is close to the slowest request, and p99.9 needs more than 1,000.", ""]
    lines += markdown_table(["payload", *sweep.names], counts)
    return lines


def payload_sections(bench: Bench) -> list[str]:
    lines = ["## Throughput against payload size", "",
             "Requests per second each path sustains at each payload size (higher is better); "
             "`native-batch` keeps 16 requests in flight per requester, the others one.", ""]
    lines += per_concurrency(bench, "**{}**", lambda cell: measured(cell, rate))
    lines += ["## Latency against payload size", "",
              "The median and the 99th percentile of each request's round trip, in µs (lower is better): p50 is the "
              "typical request, p99 the slow one in a hundred.", ""]
    lines += per_concurrency(bench, "**{}**, p50 / p99 (µs)", lambda cell: measured(cell, p50_of, p99_of))
    return lines


def per_concurrency(bench: Bench, heading: str, show) -> list[str]:
    """One table of payload against path for each concurrency mode that the sweep measured."""
    sweep, lines = bench.sweep, []
    for concurrency in sweep.modes:
        payloads = [p for p in sweep.payloads if concurrency in modes(bench, p)]
        if payloads:
            lines += [heading.format(concurrency), ""]
            lines += markdown_table(["payload", *sweep.names],
                                    [[size_text(p), *(show(find(bench, path, concurrency, p)) for path in sweep.names)]
                                     for p in payloads])
    return lines


def window_section(bench: Bench) -> list[str]:
    sweep = bench.sweep
    if len(sweep.windows) < 2:
        return []
    low, high = sweep.windows[0], sweep.windows[-1]
    rows = []
    for path in sweep.names:
        a, b = (find(bench, path, "processes", sweep.reference_payload, window=w) for w in (low, high))
        rows.append([path, *(measured(r, rate) for r in (a, b)),
                     ratio(*(r.median(rate) if r is not None and r.succeeded else None for r in (b, a))),
                     *(measured(r, p50_of) for r in (a, b))])
    return [f"## Window {low} against window {high}", "",
            f"What keeping {high} requests in flight per requester buys each path, at "
            f"{size_text(sweep.reference_payload)} with every role a process: throughput grows as long as the "
            f"server has idle time to fill, and each request then waits behind the others in flight.", "",
            *markdown_table(["path", f"requests/s, window {low}", f"requests/s, window {high}", "gain",
                    f"p50 µs, window {low}", f"p50 µs, window {high}"], rows)]


def stall_ratios(bench: Bench) -> list[tuple[str, str, list[float | None]]]:
    """(path, concurrency, p50 at 1, 16 and 32 KiB) for every path and mode that ran at 1 and 32 KiB."""
    rows = []
    for concurrency in bench.sweep.modes:
        for path in bench.sweep.names:
            if all(concurrency in modes(bench, p) for p in (KIB, 32 * KIB)):
                rows.append((path, concurrency, [p50(find(bench, path, concurrency, p)) for p in STALL_PAYLOADS]))
    return rows


def stall_verdict(bench: Bench) -> str:
    """Whether every path that is not known to stall meets the target, in one sentence."""
    found = [(f"{path} {c}", v[2] / v[0]) for path, c, v in stall_ratios(bench)
             if not bench.sweep.path(path).stalls_above and v[0] and v[2]]
    if not found:
        return "The target (p50 at 32 KiB at most 3 × p50 at 1 KiB) was not measured in this sweep."
    met = all(value <= STALL_TARGET for _, value in found)
    shown = ", ".join(f"{where} {value:.1f}×" for where, value in found)
    return (f"Target, p50 at 32 KiB at most {STALL_TARGET:g} × p50 at 1 KiB on every path but those that stall: "
            f"{'met' if met else 'not met'} ({shown}).")


def stall_section(bench: Bench) -> list[str]:
    rows = [[path, concurrency, *(f"{value:,.0f}" if value else NOT_RUN for value in values),
             ratio(values[2], values[0])] for path, concurrency, values in stall_ratios(bench)]
    if not rows:
        return []
    stalling = [f"`{path.name}`" for path in bench.sweep.paths if path.stalls_above]
    return ["## Stalls around 16 KiB", "",
            "p50 latency (µs) at 1, 16 and 32 KiB. A connection with Nagle's algorithm on that writes a message in "
            "two sends makes the second wait for the ACK of the first, which the receiver delays by up to 40 ms"
            + (f": {', '.join(stalling)} does, the stock manager connections writing a message larger than 16 KiB "
               "in two sends" if stalling else "") + ".", "",
            *markdown_table(["path", "concurrency", *(f"p50, {size_text(p)}" for p in STALL_PAYLOADS),
                             "32 KiB / 1 KiB"], rows), stall_verdict(bench), ""]


def counts_section(bench: Bench) -> list[str]:
    sweep = bench.sweep
    if not sweep.counts:
        return []
    columns = [(path.name, c) for path in sweep.paths if path.plain for c in sweep.modes]
    rows = [[f"{rq} × {rs}", *(measured(find(bench, path, c, sweep.reference_payload, requesters=rq, responders=rs),
                                        rate, p50_of)
                               for path, c in columns)] for rq, rs in sweep.counts]
    return ["## Requesters and responders", "",
            f"Throughput (requests/s) / p50 latency (µs) as requesters and responders are added, at "
            f"{size_text(sweep.reference_payload)}: where a path stops gaining, something else (a core, the GIL, "
            "the one manager server) is the limit.", "",
            *markdown_table(["requesters × responders", *(f"{path}, {c}" for path, c in columns)], rows)]


def memory_row(record: Record | None) -> list[str]:
    """Memory of the point's first round: peak sizes barely move from one round to the next."""
    if record is None or not record.results:
        return [NOT_RUN] * 6
    first = record.results[0]
    kinds: dict[str, list[float]] = {}
    for role in first.roles:
        kinds.setdefault(role.kind, []).append(role.rss_peak_mib)

    def cell(*names: str) -> str:
        values = [value for name in names for value in kinds.get(name, [])]
        if not values:
            return ""
        return f"{sum(values) / len(values):,.1f}" + (f" × {len(values)}" if len(values) > 1 else "")

    return [cell("parent"), cell("broker", "server"), cell("responder"), cell("requester"),
            cell("process"), f"{first.rss_peak_mib_total:,.1f}"]


def memory_section(bench: Bench) -> list[str]:
    sweep = bench.sweep
    payloads = sorted({sweep.reference_payload, max(sweep.threads_payloads)} & set(sweep.threads_payloads))
    lines = ["## Memory per role", "",
             "Peak resident memory (MiB) of each process: with processes every role is one (a mean, × how many), "
             "with threads or asyncio the whole run is one process. The total sums the processes, so pages they "
             "share are counted once per process.", ""]
    for payload in payloads:
        rows = [[path, c, *memory_row(find(bench, path, c, payload))] for path in sweep.names for c in sweep.modes]
        lines += [f"**{size_text(payload)}**", ""]
        lines += markdown_table(["path", "concurrency", "parent", "broker or server", "responder", "requester",
                        "one process, all roles", "total"], rows)
    return lines


def plots_section(bench: Bench, plots: list[str] | None) -> list[str]:
    if bench.interrupted:
        return ["## Plots", "", "None: the sweep was interrupted.", ""]
    if plots is None:
        return ["## Plots", "", "matplotlib is not installed, so there are no plots: `pip install 'reqrep[plot]'` "
                "and run the sweep again to draw them.", ""]
    lines = ["## Plots", ""]
    for name in plots:
        lines += [f"![{bench_plots.CAPTIONS[name]}]({name})", "", bench_plots.CAPTIONS[name], ""]
    return lines


def lost_section(bench: Bench) -> list[str]:
    if not bench.lost:
        return []
    lines = ["## Points that lost requests", ""]
    for record in bench.lost:
        reasons = record.errors + [reason for result in record.results for reason in result.errors + result.failures]
        lines.append(f"- {record.point.label()}: {'; '.join(reasons[:3]) or 'requests unanswered'}")
    return [*lines, ""]


def report_markdown(bench: Bench, plots: list[str] | None) -> str:
    sections = [introduction(bench), payload_sections(bench), window_section(bench), stall_section(bench),
                counts_section(bench), memory_section(bench), plots_section(bench, plots), lost_section(bench)]
    return "\n".join(line for section in sections for line in section)


def write(bench: Bench, out: Path) -> list[Path]:
    """results.json, the plots (not after an interruption: quitting should be quick) and report.md."""
    write_json(str(out / "results.json"), bench.to_json())
    plots = [] if bench.interrupted else bench_plots.draw(bench, out)
    (out / "report.md").write_text(report_markdown(bench, plots), encoding="utf-8")
    return [out / "results.json", out / "report.md", *(out / name for name in plots or [])]


def tally(bench: Bench) -> str:
    lost = f"{len(bench.lost)} lost requests (listed at the end)" if bench.lost else "no point lost a request"
    rounds = f" ({bench.runs} of {bench.planned} runs: {bench.sweep.rounds} rounds)" if bench.sweep.rounds > 1 else ""
    return f"{len(bench.records)} of {len(bench.plan)} points{rounds} in {bench.seconds:,.0f} s; {lost}"


def summary(bench: Bench, written: list[Path]) -> list[str]:
    lines = [tally(bench), stall_verdict(bench)]
    lines += [f"lost requests: {line[2:]}" for line in lost_section(bench)[2:-1]]
    if written and not any(path.suffix == ".png" for path in written) and not bench.interrupted:
        lines.append("no plots: matplotlib is not installed (pip install 'reqrep[plot]')")
    return [*lines, "wrote " + ", ".join(str(path) for path in written)]
