"""The studies' PNG plots (Study.figures names each function here), drawn with matplotlib when installed; a
study is read here by its fields, never imported."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from shared.bench.point import Record
from shared.bench.study import Measured, Study
from shared.core.config import CONCURRENCY
from shared.core.sizes import MIB, size_text

COLOURS = ("tab:blue", "tab:orange", "tab:red", "tab:green", "tab:purple", "tab:brown", "tab:pink", "tab:olive")
LINES = {"processes": ("-", "o"), "threads": ("--", "s"), "asyncio": (":", "^")}
LATENCY_LINES = (("p50", "p50"), ("p90", "p90"), ("p99", "p99"), ("p999", "p99.9"))
KIND_COLOURS = ("tab:gray", "tab:purple", "tab:olive", "tab:cyan", "tab:brown")
DPI = 100


def payload_series(study: Any, bench: Measured, path: str, concurrency: str) -> list[Record]:
    """The payload study's successful points of one path and mode, smallest payload first."""
    found = [r for r in study.records(bench)
             if r.succeeded and (r.point.path, r.point.concurrency) == (path, concurrency)]
    return sorted(found, key=lambda r: r.point.payload_bytes)


def log_axes(axes, payloads: tuple[int, ...], label: str, along: str = "payload (request and reply, each)") -> None:
    """Log-log axes, payload sizes along and `label` up."""
    axes.set_xscale("log")
    axes.set_xticks(payloads, [size_text(p) for p in payloads], rotation=40)  # 16 and 32 KiB sit close
    axes.minorticks_off()
    axes.set_xlabel(along)
    axes.grid(True, which="major", alpha=0.3)
    axes.set_yscale("log")
    axes.set_ylabel(label)


def subtitle(bench: Measured) -> str:
    m = bench.machine
    return f"reqrep bench {bench.sweep.preset}, {bench.date[:10]}, {m.get('cores')} cores, Python {m.get('python')}"


def names(study: Study, bench: Measured) -> list[str]:
    return [path.name for path in study.paths(bench.sweep)]


def throughput(study: Any, bench: Measured, figure_class) -> object:
    figure = figure_class(figsize=(11, 4.5), dpi=DPI, layout="constrained")
    rate, volume = figure.subplots(1, 2)
    for index, path in enumerate(names(study, bench)):
        for concurrency in CONCURRENCY:
            series = payload_series(study, bench, path, concurrency)
            if not series:
                continue
            style, marker = LINES[concurrency]
            sizes = [r.point.payload_bytes for r in series]
            rps = [r.median(lambda result: result.throughput_rps) for r in series]
            common = {"color": COLOURS[index % len(COLOURS)], "linestyle": style, "marker": marker,
                      "label": f"{path}, {concurrency}"}
            rate.plot(sizes, rps, **common)
            volume.plot(sizes, [2 * size * r / MIB for size, r in zip(sizes, rps, strict=True)], **common)
    for axes, label in ((rate, "requests per second"), (volume, "payload moved, MiB/s (requests + replies)")):
        log_axes(axes, study.payloads, label)
    rate.legend(fontsize="small")
    figure.suptitle(f"Throughput against payload size ({subtitle(bench)})")
    return figure


def latency(study: Any, bench: Measured, figure_class) -> object:
    paths = names(study, bench)
    columns = 2 if len(paths) > 1 else 1
    figure = figure_class(figsize=(11, 3.6 * math.ceil(len(paths) / columns)), dpi=DPI, layout="constrained")
    grid = figure.subplots(math.ceil(len(paths) / columns), columns, sharey=True, squeeze=False)
    for axes, path in zip(grid.flat, paths, strict=False):
        series = payload_series(study, bench, path, "processes")
        sizes = [r.point.payload_bytes for r in series]
        for key, name in LATENCY_LINES:
            axes.plot(sizes, [max(r.latency(key), 1.0) for r in series], marker="o", label=name)
        log_axes(axes, study.payloads, "latency, µs")
        window = bench.sweep.path(path).window
        axes.set_title(f"{path}" + (f" (window {window})" if window > 1 else ""))
        axes.legend(fontsize="small")
    for axes in list(grid.flat)[len(paths):]:
        axes.set_visible(False)
    figure.suptitle(f"Latency percentiles against payload size, every role a process ({subtitle(bench)})")
    return figure


def memory(study: Any, bench: Measured, figure_class) -> object:
    sweep, payloads = bench.sweep, study.payloads
    figure = figure_class(figsize=(11, 1.2 + 0.45 * len(names(study, bench)) * len(sweep.modes) * len(payloads)),
                          dpi=DPI, layout="constrained")
    panels = figure.subplots(len(payloads), 1, squeeze=False)[:, 0]
    for axes, payload in zip(panels, payloads, strict=True):
        rows = [r for path in names(study, bench) for c in CONCURRENCY
                if (r := study.find(bench, path=path, concurrency=c, payload_bytes=payload)) and r.results]
        labels = [f"{r.point.path}, {r.point.concurrency}" for r in rows]
        left = [0.0] * len(rows)
        for (kind, kinds), colour in zip(bench.role_kinds(), KIND_COLOURS, strict=True):
            widths = [sum(role.pss_peak_mib for role in r.first.roles if role.kind in kinds) for r in rows]
            axes.barh(labels, widths, left=left, color=colour, label=kind)
            left = [a + b for a, b in zip(left, widths, strict=True)]
        axes.invert_yaxis()
        axes.set_xlabel("peak PSS, MiB (sum over processes)")
        axes.set_title(f"{size_text(payload)} payload")
        axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
    figure.suptitle(f"Memory per role: processes against threads and asyncio ({subtitle(bench)})")
    return figure


def soak(study: Any, bench: Measured, figure_class) -> object:
    figure = figure_class(figsize=(11, 4), dpi=DPI, layout="constrained")
    axes = figure.subplots()
    for index, (path, result) in enumerate(study.timelines(bench).items()):
        seconds = [second for second, _ in result.pss_timeline]
        axes.plot(seconds, [mib for _, mib in result.pss_timeline], color=COLOURS[index % len(COLOURS)], marker="o",
                  markersize=2, label=path)
    axes.set_xlabel("seconds since the response side was ready")
    axes.set_ylabel("PSS, MiB (sum over processes)")
    axes.set_ylim(bottom=0)
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize="small")
    figure.suptitle(f"Memory over the soak ({subtitle(bench)})")
    return figure


def arrays(study: Any, bench: Measured, figure_class) -> object:
    figure = figure_class(figsize=(11, 4.5), dpi=DPI, layout="constrained")
    latency, volume = figure.subplots(1, 2)
    for index, path in enumerate(study.paths(bench.sweep)):
        found = [(size, record) for size in study.sizes if (record := study.record(bench, path, size)) is not None]
        common = {"color": COLOURS[index % len(COLOURS)], "marker": "o", "label": path.name}
        latency.plot([size for size, _ in found], [record.latency("p50") / 1000 for _, record in found], **common)
        volume.plot([size for size, _ in found],
                    [size * record.median(lambda result: result.throughput_rps) / MIB for size, record in found],
                    **common)
    for axes, label in ((latency, "p50 latency, ms"), (volume, "arrays moved each way, MiB/s")):
        log_axes(axes, study.sizes, label, "float64 array (request and reply, each)")
    latency.legend(fontsize="small")
    figure.suptitle(f"NumPy arrays against their size, every role a process ({subtitle(bench)})")
    return figure


def draw(bench: Measured, out: Path) -> dict[str, str] | None:
    """The studies' figures as PNG files in `out`: {file name: caption}; None without matplotlib."""
    figures = {name: (study, figure) for study in bench.sweep.studies for name, figure in study.figures.items()}
    if not figures:
        return {}
    try:
        from matplotlib.figure import Figure  # a Figure of its own: no pyplot, no display, no global state
    except ImportError:
        return None
    for name, (study, (_, function)) in figures.items():
        DRAWN_BY[function](study, bench, Figure).savefig(out / name)
    return {name: caption for name, (_, (caption, _)) in figures.items()}


DRAWN_BY = {each.__name__: each for each in (throughput, latency, memory, soak, arrays)}
