"""The studies of one condition of a run: latency recording on and off, many requesters, a long run (does
memory grow?), and network delay between the roles."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import product
from typing import TYPE_CHECKING

from shared.bench.point import Point, Record, run_options
from shared.bench.reading import NOT_RUN, listed, measured, memory_mib, p50_of, p99_of, rate, ratio_text, target_line
from shared.bench.study import Measured, Section, Study, Sweep, Table
from shared.report.statistics import Interval, paired_ratio

if TYPE_CHECKING:
    from shared.core.results import RunResult

RECORDING_TARGET = 0.02  # recording may cost at most this share of throughput
SOAK_TARGET = 0.10  # memory may grow by less than this share from a run's first tenth to its last
TENTH = 0.1
# (placement, the run options of a one-way delay d: the relays it puts where)
PLACEMENTS = (("requesters away", lambda d: {"delay_ms": d}),
              ("three hosts", lambda d: {"delay_ms": d, "responder_delay_ms": d}))


def cpu_us(result: RunResult) -> float:
    """CPU per request over every process of the run, µs: steadier than throughput on a shared machine."""
    return result.cpu_seconds / result.parameters["requests"] * 1e6


@dataclass(frozen=True)
class Recording(Study):
    """What timing every request costs: each path with latency recording on and off, paired per round."""

    name = "recording"

    def points(self, sweep: Sweep) -> Iterator[Point]:
        for path in self.paths(sweep):
            yield sweep.point(path)
            yield sweep.point(path, record_latency=False)

    def cases(self, bench: Measured) -> Iterator[tuple[str, Record | None, Record | None, Interval, Interval]]:
        """Per path: on, off, throughput off / on and CPU per request on / off, paired over the rounds in
        which both ran and answered every request."""
        for path in self.paths(bench.sweep):
            on = self.find(bench, path=path.name)
            off = self.find(bench, path=path.name, options=run_options(record_latency=False))
            both = [n for n in sorted(on.results) if n in off.results and on.results[n].succeeded
                    and off.results[n].succeeded] if on is not None and off is not None else []
            pairs = [(on.results[n], off.results[n]) for n in both]
            yield (path.name, on, off, paired_ratio([b.throughput_rps for _, b in pairs],
                                                    [a.throughput_rps for a, _ in pairs]),
                   paired_ratio([cpu_us(a) for a, _ in pairs], [cpu_us(b) for _, b in pairs]))

    def summary(self, bench: Measured) -> dict:
        figures = {}
        for path, on, off, throughput, cpu in self.cases(bench):
            if on is not None and off is not None:
                cost = round(throughput.median - 1, 4) if throughput.rounds else None
                figures[path] = {"rounds": throughput.rounds, "throughput_off_over_on": throughput.to_json(),
                                 "cpu_on_over_off": cpu.to_json(), "cost": cost,
                                 "met": cost <= RECORDING_TARGET if cost is not None else None}
        costs = [figure["cost"] for figure in figures.values() if figure["cost"] is not None]
        return {"target": RECORDING_TARGET, "met": all(cost <= RECORDING_TARGET for cost in costs) if costs else None,
                "paths": figures}

    def verdict(self, bench: Measured) -> str:
        summary = self.summary(bench)
        if summary["met"] is None:
            return "Recording cost: not measured (no round where both runs answered every request)."
        judged = {path: (f"{figure['cost']:+.1%}", figure["met"]) for path, figure in summary["paths"].items()
                  if figure["cost"] is not None}
        return target_line(f"recording latency costs at most {RECORDING_TARGET:.0%} of throughput", judged, {})

    def sections(self, bench: Measured) -> list[Section]:
        rows = [[path, str(throughput.rounds), measured(on, rate), measured(off, rate), ratio_text(throughput),
                 measured(on, cpu_us, digits=1), measured(off, cpu_us, digits=1), ratio_text(cpu)]
                for path, on, off, throughput, cpu in self.cases(bench)]
        sweep = bench.sweep
        return [Section("What recording latency costs",
                        f"Each transport's run ({sweep.requests:,} requests, {sweep.requesters} requesters, "
                        f"{sweep.responders} responders, every role a process) with latency recording on and off "
                        "(`--no-latency`) one after the other in every round, in turn first; the ratios are paired per "
                        "round. Throughput off / on above 1 is what recording costs; CPU per request sums every "
                        "process of the run, and is steadier than throughput on a shared machine.",
                        [Table(["path", "paired rounds", "requests/s, recording", "requests/s, not recording",
                                "throughput off / on", "CPU µs per request, recording",
                                "CPU µs per request, not recording", "CPU on / off"], rows)], [self.verdict(bench)])]


@dataclass(frozen=True)
class Many(Study):
    """Many requesters from one machine, as processes, threads and asyncio tasks."""

    name = "many"
    steps: tuple[int, ...]  # requesters, fewest first

    def points(self, sweep: Sweep) -> Iterator[Point]:
        for requesters, concurrency, path in product(self.steps, sweep.modes, self.paths(sweep)):
            yield sweep.point(path, concurrency, requesters=requesters)

    def cases(self, bench: Measured) -> Iterator[tuple[int, str, str, Record | None]]:
        """(requesters, path, concurrency, its record) for each point of the study."""
        for n, concurrency, path in product(self.steps, bench.sweep.modes, self.paths(bench.sweep)):
            yield n, path.name, concurrency, self.find(bench, path=path.name, concurrency=concurrency, requesters=n)

    def summary(self, bench: Measured) -> dict:
        figures: dict[str, dict] = {}
        for n, path, concurrency, r in self.cases(bench):
            figures.setdefault(f"{path} {concurrency}", {})
            if r is not None and r.succeeded:
                figures[f"{path} {concurrency}"][str(n)] = {
                    "throughput_rps": round(r.median(rate), 1), "p50_us": r.latency("p50"),
                    "p99_us": r.latency("p99"), "memory_mib": round(r.median(memory_mib), 1),
                    "processes": len(r.first.roles), "wall_seconds": round(r.wall_seconds / len(r.results), 1)}
        return figures

    def sections(self, bench: Measured) -> list[Section]:
        rows = [[f"{n:,}", path, concurrency, measured(record, rate),
                 measured(record, p50_of, p99_of, scale=1e-3, digits=1), measured(record, memory_mib),
                 self.per_requester(bench, record),
                 *((f"{len(record.first.roles):,}", f"{record.wall_seconds / len(record.results):,.1f}")
                   if record is not None and record.results else (NOT_RUN, NOT_RUN))]
                for n, path, concurrency, record in self.cases(bench)]
        sweep = bench.sweep
        return [Section("Many requesters",
                        f"Each transport with more and more requesters ({listed(f'{n:,}' for n in self.steps)}) in "
                        f"each concurrency mode: {sweep.requests:,} requests in all, {sweep.responders} responders, "
                        "each requester in lockstep. With that many requests in flight, latency is mostly queueing: "
                        "p50 comes close to the requesters divided by the throughput (Little's law). Memory is the "
                        "peak proportional set size (PSS) of the run's processes, summed: a page that forked processes "
                        "share counts once. *Per added requester* is the memory this count takes beyond the fewest "
                        "requesters, divided by the requesters added; the wall time includes starting every role.",
                        [Table(["requesters", "path", "concurrency", "requests/s", "p50 / p99 (ms)", "memory (MiB)",
                                "per added requester (MiB)", "processes", "wall (s)"], rows)])]

    def per_requester(self, bench: Measured, record: Record | None) -> str:
        fewest = self.steps[0]
        if record is None or not record.succeeded or record.point.requesters == fewest:
            return NOT_RUN
        base = self.find(bench, path=record.point.path, concurrency=record.point.concurrency, requesters=fewest)
        if base is None or not base.succeeded:
            return NOT_RUN
        added = record.median(memory_mib) - base.median(memory_mib)
        return f"{added / (record.point.requesters - fewest):,.2f}"


def growth(timeline: list) -> dict | None:
    """The largest sample of the first tenth and of the last (the very last may miss exited requesters), and
    the growth between them; None without samples."""
    if not timeline:
        return None
    last = timeline[-1][0]
    head = [mib for seconds, mib in timeline if seconds <= last * TENTH] or [timeline[0][1]]
    tail = [mib for seconds, mib in timeline if seconds >= last * (1 - TENTH)] or [timeline[-1][1]]
    first, end = max(head), max(tail)
    return {"samples": len(timeline), "first_tenth_mib": first, "last_tenth_mib": end,
            "peak_mib": max(mib for _, mib in timeline), "growth": round((end - first) / first, 4),
            "met": (end - first) / first < SOAK_TARGET}


def growth_cells(figure: dict | None) -> list[str]:
    if figure is None:
        return [NOT_RUN] * 5
    mib = (f"{figure[key]:,.1f}" for key in ("first_tenth_mib", "last_tenth_mib", "peak_mib"))
    return [str(figure["samples"]), *mib, f"{figure['growth']:+.1%}"]


@dataclass(frozen=True)
class Soak(Study):
    """A long run per transport, its processes' PSS sampled every second."""

    name = "soak"
    figures = {"soak.png": ("PSS of all the run's processes over the soak, per path.", "soak")}

    def points(self, sweep: Sweep) -> Iterator[Point]:
        for path in self.paths(sweep):
            yield sweep.point(path)

    def timelines(self, bench: Measured) -> dict[str, RunResult]:
        """Per path, its first round that answered every request."""
        found = {}
        for record in self.records(bench):
            good = [result for _, result in sorted(record.results.items()) if result.succeeded]
            if good:
                found[record.point.path] = good[0]
        return found

    def summary(self, bench: Measured) -> dict:
        figures = {path: growth(result.pss_timeline) for path, result in self.timelines(bench).items()}
        growths = [figure["growth"] for figure in figures.values() if figure]
        return {"target": SOAK_TARGET, "met": all(g < SOAK_TARGET for g in growths) if growths else None,
                "paths": figures}

    def verdict(self, bench: Measured) -> str:
        summary = self.summary(bench)
        if summary["met"] is None:
            return "Soak: not measured (no run answered every request)."
        judged = {path: (f"{figure['growth']:+.1%}", figure["met"]) for path, figure in summary["paths"].items()
                  if figure}
        return target_line(f"memory grows by less than {SOAK_TARGET:.0%} from the first tenth of the soak to the "
                           "last", judged, {})

    def sections(self, bench: Measured) -> list[Section]:
        summary, rows = self.summary(bench)["paths"], []
        for path in self.paths(bench.sweep):
            record, figure = self.find(bench, path=path.name), summary.get(path.name)
            rows.append([path.name, measured(record, lambda r: r.ok), measured(record, lambda r: r.seconds, digits=1),
                         measured(record, rate), *growth_cells(figure)])
        sweep = bench.sweep
        return [Section("Soak: memory over a long run",
                        f"One long run per transport ({sweep.requests:,} requests, {sweep.requesters} requesters, "
                        f"{sweep.responders} responders, every role a process), the proportional set size (PSS) of all "
                        "its processes summed once a second (a page they share counts once). Growth compares the "
                        "largest sample of the run's last tenth with the largest of its first tenth (start-up "
                        "included): a leak in the request loops would show as growth.",
                        [Table(["path", "requests ok", "seconds", "requests/s", "samples", "first tenth, max (MiB)",
                                "last tenth, max (MiB)", "peak (MiB)", "growth"], rows)], [self.verdict(bench)])]


@dataclass(frozen=True)
class Delay(Study):
    """Network delay: the roles as on separate hosts, a delaying relay (shared/core/relay.py) between them.
    *loopback*: no relay; *requesters away*: `--delay`; *three hosts*: `--delay` and `--responder-delay`."""

    name = "delay"
    delays: tuple[float, ...]  # one way, ms

    def conditions(self) -> Iterator[tuple[str, float | None, dict]]:
        """(placement, one-way delay, run options), loopback first."""
        yield "loopback", None, {}
        for (placement, relays), delay in product(PLACEMENTS, self.delays):
            yield placement, delay, relays(delay)

    def points(self, sweep: Sweep) -> Iterator[Point]:
        for _, _, relays in self.conditions():
            for path in self.paths(sweep):  # side by side: a noisy moment touches all alike
                yield sweep.point(path, **relays)

    def cases(self, bench: Measured) -> Iterator[tuple[str, float | None, str, Record | None]]:
        """(placement, one-way delay, path, its record) in the order they ran."""
        for (placement, delay, relays), path in product(self.conditions(), self.paths(bench.sweep)):
            yield placement, delay, path.name, self.find(bench, path=path.name, options=run_options(**relays))

    def summary(self, bench: Measured) -> dict:
        return {"rows": [{"placement": placement, "delay_ms": delay, "path": path,
                          "throughput_rps": round(record.median(rate), 1), "p50_us": record.latency("p50"),
                          "p99_us": record.latency("p99")}
                         for placement, delay, path, record in self.cases(bench) if record and record.succeeded]}

    def sections(self, bench: Measured) -> list[Section]:
        rows = [[placement, "none (no relay)" if delay is None else f"{delay:g} ms", path, measured(record, rate),
                 *(measured(record, read, scale=1e-3, digits=2) for read in (p50_of, p99_of))]
                for placement, delay, path, record in self.cases(bench)]
        sweep = bench.sweep
        return [Section("Network delay",
                        "Every role as on a separate host, with a relay standing for the network: it holds every chunk "
                        f"the one-way delay in each direction ({sweep.requests:,} requests, {sweep.requesters} "
                        f"requesters, {sweep.responders} responders, every role a process, each requester in "
                        "lockstep). *Requesters away*: a relay between the requesters and the "
                        f"{listed(bench.server_roles, 'or')}; *three hosts*: one on both sides of it; *loopback*: no "
                        "relay. A round trip (RTT) is twice the one-way delay: a request pays one RTT for each call "
                        "across a relay that its path makes (two where a request is a `put`, then a `get`, see the "
                        "paths' descriptions); what the delay does not explain is the relay's own cost (the 0 ms rows) "
                        "and the work.",
                        [Table(["placement", "one-way delay", "path", "requests/s", "p50 (ms)", "p99 (ms)"], rows)])]
