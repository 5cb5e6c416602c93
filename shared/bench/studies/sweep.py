"""The sweep's studies: throughput and latency against payload size, a window against lockstep, the Nagle
stall around 16 KiB, requesters and responders added, and memory per role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import product

from shared.bench.point import Point, Record
from shared.bench.reading import NOT_RUN, listed, measured, p50_of, p99_of, paired, rate, ratio_text, target_line
from shared.bench.study import Measured, Section, Study, Sweep, Table, find
from shared.core.sizes import size_text
from shared.report.statistics import Interval

STALL_TARGET = 3.0  # p50 at the largest payload at most this many times p50 at the smallest
QUEUEING = "p50 of a windowed or batched path is time in the queue, not the service"


@dataclass(frozen=True)
class Payloads(Study):
    name = "payload"
    group = "sweep"
    figures = {"throughput.png": ("Throughput against payload size, per path (log-log); processes solid, threads "
                                  "dashed, asyncio dotted.", "throughput"),
               "latency.png": ("Latency percentiles against payload size, per path (processes, log-log).", "latency")}
    payloads: tuple[int, ...]
    threads_payloads: tuple[int, ...]  # the payloads also run with every role a thread, and as asyncio tasks

    def modes(self, sweep: Sweep, payload: int) -> list[str]:
        return [c for c in sweep.modes if c == "processes" or payload in self.threads_payloads]

    def points(self, sweep: Sweep) -> Iterator[Point]:
        for payload in self.payloads:
            for concurrency in self.modes(sweep, payload):
                for path in self.paths(sweep):
                    yield sweep.point(path, concurrency, payload)

    def sections(self, bench: Measured) -> list[Section]:
        sweep, paths = bench.sweep, self.paths(bench.sweep)
        counts = [[size_text(payload), *(f"{sweep.requests_for(path, payload, sweep.requesters):,}" for path in paths)]
                  for payload in self.payloads]
        wide = listed(f"`{path.name}` keeps {path.window}" for path in paths if path.window > 1)
        return [Section("Throughput against payload size",
                        "Requests per second each path sustains at each payload size (higher is better)"
                        + (f"; {wide} requests in flight per requester, the others one" if wide else "") + ". Requests "
                        "per point fall as payloads grow, so that each point takes about as long; with fewer than 100 "
                        "requests, p99 is close to the slowest request, and p99.9 needs more than 1,000:",
                        [Table(["payload", *(path.name for path in paths)], counts),
                         *self.per_concurrency(bench, "**{}**, requests/s", rate)]),
                Section("Latency against payload size",
                        "The median and the 99th percentile of each request's round trip, in µs (lower is better): "
                        "p50 is the typical request, p99 the slow one in a hundred.",
                        self.per_concurrency(bench, "**{}**, p50 / p99 (µs)", p50_of, p99_of))]

    def per_concurrency(self, bench: Measured, caption: str, *reads) -> list[Table]:
        """A table of payload against path for each concurrency mode that the sweep measured."""
        names, tables = [path.name for path in self.paths(bench.sweep)], []
        for concurrency in bench.sweep.modes:
            payloads = [p for p in self.payloads if concurrency in self.modes(bench.sweep, p)]
            rows = [[size_text(p), *(measured(self.find(bench, path=path, concurrency=concurrency, payload_bytes=p),
                                              *reads) for path in names)] for p in payloads]
            tables += [Table(["payload", *names], rows, caption.format(concurrency))] if payloads else []
        return tables


@dataclass(frozen=True)
class Windows(Study):
    """What keeping more requests in flight buys each path: window 1 (lockstep) against a wider window."""

    name = "window"
    group = "sweep"
    windows: tuple[int, ...]  # the first against the last

    def points(self, sweep: Sweep) -> Iterator[Point]:
        for window, path in product(self.windows, self.paths(sweep)):
            yield sweep.point(path, "processes", sweep.reference_payload, window=window)

    def sections(self, bench: Measured) -> list[Section]:
        if len(self.windows) < 2:
            return []
        low, high = self.windows[0], self.windows[-1]
        rows = []
        for path in self.paths(bench.sweep):
            a, b = (self.find(bench, path=path.name, window=w) for w in (low, high))
            both = all(r is not None and r.succeeded for r in (a, b))
            rows.append([path.name, *(measured(r, rate) for r in (a, b)),
                         ratio_text(paired(b, a if both else None), 1, "×"), *(measured(r, p50_of) for r in (a, b))])
        return [Section(f"Window {low} against window {high}",
                        f"What keeping {high} requests in flight per requester buys each path, at "
                        f"{size_text(bench.sweep.reference_payload)} with every role a process: throughput grows as "
                        "long as the server has idle time to fill, and each request then waits behind the others in "
                        "flight.",
                        [Table(["path", f"requests/s, window {low}", f"requests/s, window {high}", "gain",
                                f"p50 µs, window {low}", f"p50 µs, window {high}"], rows)])]


@dataclass(frozen=True)
class Stalls(Study):
    """The target that no lockstep path stalls but those known to (a path with a window or batches is not
    judged: its p50 is mostly time in a queue)."""

    name = "stalls"
    group = "sweep"
    payloads: tuple[int, ...]  # the smallest against the largest, and any between

    def points(self, sweep: Sweep) -> Iterator[Point]:
        for payload, path in product(self.payloads, self.paths(sweep)):
            yield sweep.point(path, "processes", payload)

    def ratios(self, bench: Measured) -> list[tuple[str, str, list[float | None], Interval]]:
        """(path, mode, p50 at each payload, p50 largest / smallest paired per round) for every path and mode
        that ran at both, whichever study ran them; a point that lost requests has no ratio."""
        rows, sweep = [], bench.sweep
        for concurrency, path in product(sweep.modes, self.paths(sweep)):
            found = [find(bench.records.values(), path=path.name, concurrency=concurrency, payload_bytes=payload,
                          window=path.window, requesters=sweep.requesters, responders=sweep.responders)
                     for payload in self.payloads]
            if found[0] is not None and found[-1] is not None:
                both = found[0].succeeded and found[-1].succeeded
                ratio = paired(found[-1], found[0] if both else None, p50_of)
                rows.append((path.name, concurrency, [p50(record) for record in found], ratio))
        return rows

    def summary(self, bench: Measured) -> dict:
        judged, not_judged = self.judged(bench)
        figures = {where: {"ratio": round(value, 2), "met": value <= STALL_TARGET} for where, value in judged.items()}
        return {"target": STALL_TARGET, "met": all(f["met"] for f in figures.values()) if figures else None,
                "judged": figures, "not_judged": not_judged}

    def judged(self, bench: Measured) -> tuple[dict[str, float], dict[str, str]]:
        """The ratio of each path and mode the target judges, and why a path is not judged."""
        judged, not_judged = {}, {}
        for name, concurrency, _, ratio in self.ratios(bench):
            path = bench.sweep.path(name)
            if path.stalls_above:
                not_judged[name] = f"known to stall from {size_text(path.stalls_above)} on, Nagle's algorithm left on"
            elif path.window > 1 or path.batches:
                not_judged[name] = QUEUEING
            elif ratio.median is not None:
                judged[f"{name} {concurrency}"] = ratio.median
        return judged, not_judged

    def verdict(self, bench: Measured) -> str:
        low, high = (size_text(p) for p in (self.payloads[0], self.payloads[-1]))
        claim = f"p50 at {high} at most {STALL_TARGET:g} × p50 at {low}"
        judged, not_judged = self.judged(bench)
        if not judged and not not_judged:
            return f"The target ({claim}) was not measured in this sweep."
        figures = {where: (f"{value:.1f}×", value <= STALL_TARGET) for where, value in judged.items()}
        return target_line(claim, figures, not_judged)

    def sections(self, bench: Measured) -> list[Section]:
        rows = [[path, concurrency, *(f"{value:,.0f}" if value else NOT_RUN for value in values),
                 ratio_text(ratio, 1, "×")] for path, concurrency, values, ratio in self.ratios(bench)]
        if not rows:
            return []
        stalling = "".join(f" `{path.name}` does: {path.description}." for path in self.paths(bench.sweep)
                           if path.stalls_above)
        low, high = (size_text(p) for p in (self.payloads[0], self.payloads[-1]))
        return [Section("Stalls around 16 KiB",
                        f"p50 latency (µs) at {listed(size_text(p) for p in self.payloads)}. A connection with Nagle's "
                        "algorithm on that writes a message in two sends makes the second wait for the ACK of the "
                        f"first, which the receiver delays by up to 40 ms.{stalling}",
                        [Table(["path", "concurrency", *(f"p50, {size_text(p)}" for p in self.payloads),
                                f"{high} / {low}"], rows)], [self.verdict(bench)])]


@dataclass(frozen=True)
class Counts(Study):
    """Requesters and responders added: where each transport stops gaining, and what limits it then."""

    name = "counts"
    counts: tuple[tuple[int, int], ...]  # (requesters, responders)

    def points(self, sweep: Sweep) -> Iterator[Point]:
        for (requesters, responders), concurrency, path in product(self.counts, sweep.modes, self.paths(sweep)):
            yield sweep.point(path, concurrency, sweep.reference_payload, requesters=requesters, responders=responders)

    def sections(self, bench: Measured) -> list[Section]:
        columns = [(path.name, c) for path in self.paths(bench.sweep) for c in bench.sweep.modes]
        rows = [[f"{rq} × {rs}", *(measured(self.find(bench, path=path, concurrency=c, requesters=rq, responders=rs),
                                            rate, p50_of) for path, c in columns)] for rq, rs in self.counts]
        return [Section("Requesters and responders",
                        f"Throughput (requests/s) / p50 latency (µs) as requesters and responders are added, at "
                        f"{size_text(bench.sweep.reference_payload)}: where a path stops gaining, something else (a "
                        f"core, the GIL, the one {listed(bench.server_roles, 'or')} every request crosses) is the "
                        "limit.",
                        [Table(["requesters × responders", *(f"{path}, {c}" for path, c in columns)], rows)])]


@dataclass(frozen=True)
class Memory(Study):
    """Memory per role at its peak: every role a process, against every role in one process."""

    name = "memory"
    group = "sweep"
    figures = {"memory.png": ("Peak memory per role: processes against threads and asyncio.", "memory")}
    payloads: tuple[int, ...]

    def points(self, sweep: Sweep) -> Iterator[Point]:
        for payload, concurrency, path in product(self.payloads, sweep.modes, self.paths(sweep)):
            yield sweep.point(path, concurrency, payload)

    def sections(self, bench: Measured) -> list[Section]:
        kinds = bench.role_kinds()
        tables = [Table(["path", "concurrency", *(kind for kind, _ in kinds), "total"],
                        [[path.name, c, *memory_row(self.find(bench, path=path.name, concurrency=c,
                                                              payload_bytes=payload), kinds)]
                         for path in self.paths(bench.sweep) for c in bench.sweep.modes], f"**{size_text(payload)}**")
                  for payload in self.payloads]
        return [Section("Memory per role",
                        "Peak proportional set size (PSS, MiB) of each process: with processes every role is one (a "
                        "mean, × how many), with threads or asyncio the whole run is one process. PSS divides a page "
                        "that processes share among them, so the total, their sum, counts it once.", tables)]


def p50(record: Record | None) -> float | None:
    return record.latency("p50") if record is not None and record.succeeded else None


def memory_row(record: Record | None, role_kinds: list[tuple[str, tuple[str, ...]]]) -> list[str]:
    """Memory of the point's first round (peaks barely move between rounds), by kind of role."""
    if record is None or not record.results:
        return [NOT_RUN] * (len(role_kinds) + 1)
    kinds: dict[str, list[float]] = {}
    for role in record.first.roles:
        kinds.setdefault(role.kind, []).append(role.pss_peak_mib)

    def cell(names: tuple[str, ...]) -> str:
        values = [value for name in names for value in kinds.get(name, [])]
        if not values:
            return ""
        return f"{sum(values) / len(values):,.1f}" + (f" × {len(values)}" if len(values) > 1 else "")

    return [*(cell(names) for _, names in role_kinds), f"{record.first.pss_peak_mib_total:,.1f}"]
