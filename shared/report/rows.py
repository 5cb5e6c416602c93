"""The side-by-side table: its title (what every run shares, said once), its rows (a cell per variant; a
parameter in which runs differ gets a row of its own) and the lines on the ratios under a comparison."""

from __future__ import annotations

from collections.abc import Callable

from shared.core.config import NOT_RECORDED, counted
from shared.report.document import label
from shared.report.records import Comparison, Document, Headline, PairRatios, Spread, Variant, variants
from shared.report.statistics import CONFIDENCE, Interval

Cell = Callable[[Variant], str]
NOTHING = "—"  # a cell with nothing to say; a row of nothing but these is left out


def payload(run: Variant) -> str:
    return f" (payload {run.parameters['payload']})" if run.parameters.get("payload") else ""


def responders(run: Variant) -> int | str:
    return NOTHING if run.parameters.get("part") == "request" else run.parameters.get("responders", NOT_RECORDED)


def number(value: int | str) -> str:
    return f"{value:,}" if isinstance(value, int) else value


# The parts of a title, in order: (a row's name, the run's value in a cell, the value in the title's words).
PARTS: list[tuple[str, Cell, Cell]] = [
    ("example", lambda run: run.parameters.get("example", NOT_RECORDED),
     lambda run: f"{run.parameters['example']} example"),
    ("workload", lambda run: f"{run.parameters.get('workload', NOT_RECORDED)}{payload(run)}",
     lambda run: f"{run.parameters['workload']} workload{payload(run)}"),
    ("requests", lambda run: number(run.requests), lambda run: counted(run.requests, "request")),
    ("requesters", lambda run: number(run.parameters.get("requesters", NOT_RECORDED)),
     lambda run: counted(run.parameters["requesters"], "requester")),
    ("responders", lambda run: number(responders(run)),
     lambda run: counted(run.parameters["responders"], "responder")),
]
HEAD = ("example", "workload")  # before the colon; the counts after it


def shared_parts(runs: list[Variant]) -> dict[str, str]:
    """{part: its words in the title} for each part whose value every run shares (and has)."""
    return {name: words(runs[0]) for name, value, words in PARTS
            if len({value(run) for run in runs}) == 1 and value(runs[0]) not in (NOTHING, NOT_RECORDED)}


def differing_rows(runs: list[Variant]) -> list[tuple[str, Cell]]:
    """A table row for each part of the title that the runs do not share."""
    return [(name, value) for name, value, _ in PARTS if len({value(run) for run in runs}) > 1]


def title(document: Document) -> str:
    """'router example, echo workload: 2,000 requests in 3 rounds, 5 requesters, 5 responders', saying only
    what all the runs share; the rest is in rows (differing_rows)."""
    runs = variants(document)
    shared = shared_parts(runs)
    rounds = {len(run.rounds) for run in runs}
    if "requests" in shared and len(rounds) == 1 and min(rounds) > 1:
        alternating = isinstance(document, Comparison) and len(runs) > 1 and document.alternated
        shared["requests"] += f" in {min(rounds)} rounds" + (", the variants alternating" if alternating else "")
    head = ", ".join(words for name, words in shared.items() if name in HEAD)
    counts = ", ".join(words for name, words in shared.items() if name not in HEAD)
    return ": ".join(part for part in (head, counts) if part) or "runs side by side"


def median_cell(read: Callable[[Headline], float], spread_of: Callable[[Spread], list], shape: str) -> Cell:
    """A median figure, and the lowest and highest round after it when there were several; nothing for a run
    in which no request succeeded (its throughput and latencies would describe failures)."""

    def cell(run: Variant) -> str:
        if not run.headline.ok:
            return NOTHING
        text = shape.format(read(run.headline))
        if len(run.rounds) < 2:
            return text
        low, high = spread_of(run.headline.spread)
        return f"{text} ({shape.format(low)}–{shape.format(high)})"

    return cell


def latency_cell(key: str) -> Cell:
    return median_cell(lambda figures: figures.latency_us[key], lambda spread: spread.latency_us[key], "{:,.1f}")


def count_cell(read: Callable[[Headline], int]) -> Cell:
    return lambda run: f"{read(run.headline):,}"


# One row of the table each: (label, the cell of a run document). Figures are medians of the rounds, with the
# lowest and highest round in brackets; counts, seconds and CPU seconds are the rounds' sums.
ROWS: list[tuple[str, Cell]] = [
    ("concurrency", lambda run: run.parameters["concurrency"]),
    ("codec", lambda run: run.parameters["codec"]),
    ("load", lambda run: load(run.parameters)),
    ("service time", lambda run: run.parameters.get("service_time") or NOTHING),
    ("fault", lambda run: fault(run)),
    ("rounds", lambda run: f"{len(run.rounds)}"),
    ("requests ok", count_cell(lambda figures: figures.ok)),
    ("failed", count_cell(lambda figures: figures.failed)),
    ("duplicated (dropped)", count_cell(lambda figures: figures.duplicated)),
    ("retries", count_cell(lambda figures: figures.retries)),
    ("stalled (retries with no fault)", lambda run: stalled(run)),
    ("seconds, all rounds", lambda run: f"{run.headline.seconds:.2f}"),
    ("throughput (requests/s)",
     median_cell(lambda figures: figures.throughput_rps, lambda spread: spread.throughput_rps, "{:,.0f}")),
    ("latency p50 (µs)", latency_cell("p50")),
    ("latency p90 (µs)", latency_cell("p90")),
    ("latency p99 (µs)", latency_cell("p99")),
    ("latency p99.9 (µs)", latency_cell("p999")),
    ("latency max (µs)", latency_cell("max")),
    ("bytes per request (encoded / loopback)", lambda run: sizes(run.headline.bytes_per_request)),
    ("payload, encoded (bytes; mean of its values)", lambda run: payload_size(run.headline.bytes_per_request)),
    ("memory: PSS of all processes (MiB)",
     median_cell(lambda figures: figures.pss_peak_mib_total, lambda spread: spread.pss_peak_mib_total, "{:,.1f}")),
    ("CPU seconds, all processes", lambda run: f"{run.headline.cpu_seconds:.2f}"),
    ("CPU seconds by thread (one process)", lambda run: by_thread(run.headline.cpu_seconds_by_thread)),
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


def fault(run: Variant) -> str:
    """What --fault did: when it struck, or that the run ended before it was due (never silently nothing)."""
    if run.headline.fault_inflicted:
        return run.headline.fault_inflicted
    planned = run.parameters.get("fault")
    return f"{planned}: not inflicted, the run ended first" if planned else NOTHING


def stalled(run: Variant) -> str:
    """How many rounds stalled (shared.core.results.stall_of), left out of the medians unless all did."""
    count = sum(1 for each in run.rounds if each.stall)
    if not count:
        return "0"
    return f"{count:,}, {kept(run, count)}"


def kept(run: Variant, count: int) -> str:
    """What the medians of `run` did with its `count` stalled rounds (an unmarked file has them in)."""
    if run.headline.stalled_rounds is None:
        return "in the medians (a file older than the marking of stalls)"
    return "all: the figures measure the wait" if count == len(run.rounds) else "left out of the medians"


def sizes(weights: dict) -> str:
    return f"{weights.get('total', 0):,} / {weights.get('loopback', 0):,}"


def payload_size(weights: dict) -> str:
    """A --payload's values encoded as this path carries them, alone."""
    return f"{weights['payload']:,}" if "payload" in weights else NOTHING


def load(parameters: dict) -> str:
    if parameters.get("rate"):
        return f"{parameters['rate']:,.0f}/s open loop"
    window = parameters.get("window", 1)
    return "lockstep" if window == 1 else f"window {window}"


def with_settings(rows: list, runs: list[Variant]) -> list:
    """ROWS with, after the load, a row for each setting a transport describes (Settings.described)."""
    described = sorted(dict.fromkeys(name for run in runs for name in run.parameters.get("described", {})),
                       key=lambda name: name == "security")  # last, for every transport
    own = [(name, lambda run, name=name: run.parameters.get("described", {}).get(name, NOTHING))
           for name in described]
    at = next(index for index, (name, _) in enumerate(rows) if name == "load") + 1
    return rows[:at] + own + rows[at:]


def headers(runs: list[Variant]) -> list[str]:
    """The columns' names, numbered where two would be the same (files of one variant, shown together)."""
    names = [label(run, runs) for run in runs]
    return [f"{name} #{names[:at].count(name) + 1}" if names.count(name) > 1 else name
            for at, name in enumerate(names)]


def cells(document: Document) -> tuple[list[str], list[list[str]]]:
    runs = variants(document)
    header = ["", *headers(runs)]
    rows = differing_rows(runs) + with_settings(ROWS, runs)
    body = [[name, *(read(run) for run in runs)] for name, read in rows]
    return header, [row for row in body if any(cell != NOTHING for cell in row[1:])]  # no empty rows


# ---- under a comparison: the ratios ------------------------------------------------------------------------
def ratio_lines(document: Document) -> list[str]:
    """Under a comparison: for the first variant over each other, each ratio, the median of the rounds' with
    its 95% interval, and which differences that interval calls significant."""
    pairs = document.pairs if isinstance(document, Comparison) else []
    return [line for pair in pairs for line in pair_lines(pair)]


def pair_lines(ratios: PairRatios) -> list[str]:
    """One pair's lines; with one round, that there is no interval."""
    rounds = ratios.rounds
    intervals: dict[str, Interval] = {key: getattr(ratios, key) for key in RATIO_NAMES}
    figures = ", ".join(f"{name} {intervals[key].text(digits)}" for key, name in RATIO_NAMES.items())
    over = "one round" if rounds == 1 else f"paired round by round over {rounds} rounds"
    shape = "median" if rounds == 1 else f"median ({CONFIDENCE:.0%} interval)"
    lines = [f"{ratios.numerator} / {ratios.denominator}, {over}, {shape}: {figures}"]
    if ratios.stalled_rounds:
        lines.append(f"Left out of the ratios: {ratios.stalled_rounds} pair(s) of rounds in which a round "
                     "stalled (retries with no fault inflicted).")
    judged = {key: name for key, name in RATIO_NAMES.items() if intervals[key].low is not None}
    if not judged:
        lines.append(("One round" if rounds == 1 else "Fewer than two rounds measured") +
                     ": no interval, so no difference is called significant (--rounds 2 or more give one).")
        return lines
    significant = [name for key, name in judged.items() if intervals[key].significant]
    others = [name for key, name in judged.items() if not intervals[key].significant]
    lines.append(f"Significant (the {CONFIDENCE:.0%} interval leaves out 1): {', '.join(significant) or 'none'}"
                 + (f"; not: {', '.join(others)}" if others else "") + ".")
    return lines


def digits(value: float) -> str:
    """Three significant digits, kept when they are zeros: '3.00', '0.346', '125'."""
    return f"{value:#.3g}".rstrip(".")
