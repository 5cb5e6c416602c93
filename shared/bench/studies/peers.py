"""Where reqrep stands among the Python libraries a user might pick instead (shared/bench/peers/), on the
seed's echo workload in lockstep, every reply checked: reqrep's transports in their broker shape (the seed's,
`reqrep run`) and in their one-hop shape (`reqrep run --one-hop`), beside each peer, interleaved and paired
per round."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.bench import peers
from shared.bench.point import Point, Record
from shared.bench.reading import NOT_RUN, listed, measured, paired, rate, ratio_text
from shared.bench.studies.conditions import cpu_us
from shared.bench.study import Measured, Section, Study, Sweep, Table
from shared.report.statistics import Interval

if TYPE_CHECKING:
    from shared.core.bench_paths import BenchPath
    from shared.core.transport import Transport

BROKER, ONE_HOP = "broker", "one hop"


@dataclass(frozen=True)
class Row:
    """One line of the table: a path, a peer's or one of reqrep's in either shape."""

    path: BenchPath

    @property
    def peer(self) -> bool:
        return self.path.transport in peers.PEERS

    @property
    def shape(self) -> str:
        return ONE_HOP if self.path.one_hop else BROKER

    @property
    def label(self) -> str:
        return peers.PEERS[self.path.name].label if self.peer else f"reqrep {self.path.transport}, {self.shape}"

    def hops(self, bench: Measured) -> str:
        if self.peer:
            return peers.PEERS[self.path.name].hops
        server = bench.transports.get(self.path.transport, {}).get("server_role", "server")
        if self.path.one_hop:  # no broker: its server answers
            return "requester → server process, answering in place: 1 hop"
        return f"requester → {server} process → responder process: 2 hops"


@dataclass(frozen=True)
class Peers(Study):
    name = "peers"
    peers: tuple[str, ...]  # the peers asked for (shared.bench.peers.PEERS); those not installed are left out

    def transports(self) -> Mapping[str, Transport]:
        return peers.transports(self.peers)

    def rows(self, sweep: Sweep) -> list[Row]:
        """Each transport's own path (the broker shape), the paths that name this study (one-hop shapes, the
        peers'): in the sweep's order."""
        return [Row(path) for path in self.paths(sweep)]

    def points(self, sweep: Sweep) -> Iterator[Point]:
        for row in self.rows(sweep):
            yield sweep.point(row.path)  # a one-hop path's server answers: no responders of their own

    def record(self, bench: Measured, row: Row) -> Record | None:
        return self.find(bench, path=row.path.name)

    def left_out(self, sweep: Sweep) -> list[str]:
        """The peers asked for that did not run: their library was not installed."""
        ran = {path.name for path in sweep.paths}
        return [name for name in self.peers if name not in ran]

    def ranked(self, bench: Measured) -> list[tuple[Row, Record | None]]:
        """The rows, fastest first (those with no figure last)."""
        rows = [(row, self.record(bench, row)) for row in self.rows(bench.sweep)]
        return sorted(rows, key=lambda pair: -pair[1].median(rate) if pair[1] and pair[1].succeeded else 0.0)

    # ---- figures -------------------------------------------------------------------------------------------
    def baseline(self, bench: Measured) -> tuple[Row, Record | None] | None:
        """The row every other is paired with: the first of reqrep's transports in its broker shape."""
        row = next((row for row in self.rows(bench.sweep) if not row.peer), None)
        return (row, self.record(bench, row)) if row else None

    def against(self, bench: Measured, record: Record | None) -> Interval:
        base = self.baseline(bench)
        ok = record is not None and record.succeeded and base is not None and base[1] is not None
        return paired(record, base[1] if ok else None)

    def shapes(self, bench: Measured) -> dict[str, tuple[Interval, float | None, float | None]]:
        """Per reqrep transport: one hop over broker, paired; and the CPU µs per request of each shape."""
        found = {}
        rows = self.rows(bench.sweep)
        for broker in (row for row in rows if not row.peer and row.shape == BROKER):
            hop = next((row for row in rows if row.path.transport == broker.path.transport and row.path.one_hop),
                       None)
            a, b = self.record(bench, broker), self.record(bench, hop) if hop else None
            if a is None or b is None or not (a.succeeded and b.succeeded):
                continue
            found[broker.path.transport] = (paired(b, a), a.median(cpu_us), b.median(cpu_us))
        return found

    def fastest(self, bench: Measured) -> tuple[tuple[Row, Record], tuple[Row, Record]] | None:
        """The fastest of reqrep's rows and the fastest peer, each by its median."""
        ranked = [(row, record) for row, record in self.ranked(bench) if record is not None and record.succeeded]
        ours = next((pair for pair in ranked if not pair[0].peer), None)
        theirs = next((pair for pair in ranked if pair[0].peer), None)
        return (ours, theirs) if ours and theirs else None

    def summary(self, bench: Measured) -> dict:
        rows = {}
        for row, record in self.ranked(bench):
            ok = record is not None and record.succeeded
            rows[row.label] = {"path": row.path.name, "shape": row.shape, "peer": row.peer, "hops": row.hops(bench),
                               "succeeded": ok, "throughput_rps": round(record.median(rate), 1) if ok else None,
                               "cpu_us_per_request": round(record.median(cpu_us), 1) if ok else None,
                               "against_baseline": self.against(bench, record).to_json()}
        fastest = self.fastest(bench)
        return {"rows": rows, "left_out": self.left_out(bench.sweep), "install": peers.INSTALL,
                "one_hop_over_broker": {name: ratio.to_json() for name, (ratio, _, _) in self.shapes(bench).items()},
                "fastest": None if fastest is None else {
                    "reqrep": fastest[0][0].label, "peer": fastest[1][0].label,
                    "ratio": paired(fastest[0][1], fastest[1][1]).to_json()}}

    # ---- the console and report.md -------------------------------------------------------------------------
    def verdict(self, bench: Measured) -> str:
        fastest = self.fastest(bench)
        if fastest is None:
            line = "Peers: not measured."
        else:
            (ours, mine), (theirs, its) = fastest
            line = (f"Peers: the fastest of reqrep, {ours.label}, {mine.median(rate):,.0f} requests/s; the fastest "
                    f"peer, {theirs.label}, {its.median(rate):,.0f}; paired: {ratio_text(paired(mine, its), 2, '×')}.")
        return line + self.left_out_sentence(bench)

    def left_out_sentence(self, bench: Measured) -> str:
        missing = self.left_out(bench.sweep)
        if not missing:
            return ""
        return f" Left out, not installed: {listed(missing)} (`{peers.INSTALL}` installs every peer)."

    def sections(self, bench: Measured) -> list[Section]:
        sweep, base = bench.sweep, self.baseline(bench)
        base_label = base[0].label if base else "the first row"
        rows = [[row.label, *self.cells(bench, row, record), row.hops(bench)] for row, record in self.ranked(bench)]
        text = (f"The seed's echo workload on every system: {sweep.requests:,} requests a round from "
                f"{sweep.requesters} requester processes in lockstep (each sends its next request when the reply to "
                "the last one came), every reply checked against the handler's answer by reqrep's own loop; "
                f"{sweep.rounds} rounds, each a pass over every row, forwards then backwards, so that every ratio is "
                "paired round by round. A peer's server is one process that answers in place, in its threads. "
                f"reqrep's broker shape is the seed's (`reqrep run`, {sweep.responders} responder processes behind "
                "it); its one-hop shape is `reqrep run --one-hop`. *Where a request goes* counts the hops between "
                "processes or threads; *CPU* adds up every process of the run, requesters included, per request.")
        table = Table(["system", "requests/s", f"× {base_label}", "p50 µs", "p99 µs", "CPU µs per request",
                       "memory (PSS, MiB)", "where a request goes"], rows)
        costs = [f"reqrep {name}: one hop gives {ratio_text(ratio, 2, '×')} the broker shape's throughput, "
                 f"at {hop:,.0f} µs of CPU per request against the broker's {broker:,.0f}"
                 for name, (ratio, broker, hop) in self.shapes(bench).items()]
        after = ["What a shape costs: " + "; ".join(costs) + ". The broker is one more process and one more hop "
                 "each way, and it lets responders come and go apart from the server."] if costs else []
        return [Section("reqrep among the peers", text, [table], [*after, self.verdict(bench)])]

    def cells(self, bench: Measured, row: Row, record: Record | None) -> list[str]:
        if record is None or not record.succeeded:
            return [measured(record, rate), *[NOT_RUN] * 5]
        low, high = min(r.throughput_rps for r in record.measured), max(r.throughput_rps for r in record.measured)
        spread = f" ({low:,.0f}–{high:,.0f})" if len(record.measured) > 1 else ""
        base = self.baseline(bench)
        against = "1" if base and row == base[0] else ratio_text(self.against(bench, record), 2, "×")
        return [f"{record.median(rate):,.0f}{spread}", against,
                f"{record.latency('p50'):,.0f}", f"{record.latency('p99'):,.0f}", f"{record.median(cpu_us):,.0f}",
                f"{record.median(lambda r: r.pss_peak_mib_total):,.0f}"]
