"""What a `reqrep bench` sweep covers: the points (one run each) of each preset over the transports' paths,
and how many requests each point sends. Plain data: bench.py runs it, bench_report.py reads it."""

from __future__ import annotations

from dataclasses import dataclass, replace

from shared.config import CONCURRENCY, check_counts, check_timeout
from shared.sizes import KIB, MIB, size_text
from shared.transport import BenchPath

SCALE_BYTES = 8 * KIB  # requests per point fall as payloads grow past this, so that each point takes about as long
MIN_PER_REQUESTER = 4  # however large the payload, every requester sends a few


@dataclass(frozen=True)
class Point:
    """One run of the sweep."""

    path: str
    concurrency: str
    payload_bytes: int
    window: int
    requesters: int
    responders: int
    requests: int

    def label(self) -> str:
        return (f"{self.path} {self.concurrency} {size_text(self.payload_bytes)} window {self.window} "
                f"{self.requesters}×{self.responders}")


@dataclass(frozen=True)
class Sweep:
    """What a sweep covers. Studies share points: a run that serves two tables runs once."""

    preset: str
    payloads: tuple[int, ...]
    threads_payloads: tuple[int, ...]  # the payloads also run with every role a thread
    windows: tuple[int, ...]
    counts: tuple[tuple[int, int], ...]  # (requesters, responders) of the counts study
    requests: int  # per point at small payloads; fewer as payloads grow
    stall_requests: int  # the most for a path that stalls at a payload size, where each request waits ~80 ms
    rounds: int = 1  # passes over the whole plan; each figure is the median of a point's rounds
    timeout: float = 10.0
    requesters: int = 2
    responders: int = 2
    reference_payload: int = KIB  # the payload of the window and counts studies
    paths: tuple[BenchPath, ...] = ()  # every transport's paths, the registry's order
    modes: tuple[str, ...] = CONCURRENCY  # the concurrency modes the sweep runs (processes always)

    @property
    def names(self) -> list[str]:
        return [path.name for path in self.paths]

    def path(self, name: str) -> BenchPath:
        return next(path for path in self.paths if path.name == name)

    def parameters(self) -> dict:
        return {"preset": self.preset, "payloads": list(self.payloads), "threads_payloads": list(self.threads_payloads),
                "windows": list(self.windows), "counts": [list(pair) for pair in self.counts],
                "requests": self.requests, "stall_requests": self.stall_requests, "rounds": self.rounds,
                "timeout": self.timeout,
                "requesters": self.requesters, "responders": self.responders,
                "reference_payload": self.reference_payload, "concurrency": list(self.modes),
                "paths": {path.name: {"transport": path.transport, "codec": path.codec, "settings": dict(path.settings),
                                      "window": path.window, "description": path.description}
                          for path in self.paths}}


ALL_PAYLOADS = (16, KIB, 16 * KIB, 32 * KIB, 256 * KIB, MIB)
PRESETS: dict[str, Sweep] = {
    # the README's figures: about five minutes here
    "full": Sweep("full", ALL_PAYLOADS, ALL_PAYLOADS, (1, 16), ((1, 1), (2, 2), (5, 5), (10, 5)),
                  requests=4000, stall_requests=60, rounds=3),
    # within a minute here: every table and plot, with fewer points and requests
    "quick": Sweep("quick", (KIB, 16 * KIB, 32 * KIB, 256 * KIB), (KIB, 32 * KIB), (1, 16), ((5, 5),),
                   requests=800, stall_requests=16),
    # for the tests: a few seconds
    "tiny": Sweep("tiny", (KIB, 32 * KIB), (KIB,), (1, 16), (), requests=200, stall_requests=6, timeout=5.0),
}


def choose_sweep(preset: str, paths: list[BenchPath], requests: int | None, timeout: float | None,
                 modes: list[str] | None = None) -> Sweep:
    """The preset over `paths`, with the user's --requests, --timeout and --concurrency checked and applied."""
    sweep = PRESETS[preset]
    changes: dict = {"paths": tuple(paths)}
    if modes:  # processes always run: the path, window and stall tables are theirs
        changes["modes"] = tuple(c for c in CONCURRENCY if c == "processes" or c in modes)
    if requests is not None:
        check_counts(requests, 1)
        changes["requests"] = requests
        changes["stall_requests"] = min(sweep.stall_requests, requests)
    if timeout is not None:
        check_timeout(timeout)
        changes["timeout"] = timeout
    return replace(sweep, **changes)


def requests_for(sweep: Sweep, path: BenchPath, payload: int, requesters: int) -> int:
    scaled = sweep.requests * SCALE_BYTES // (SCALE_BYTES + payload)
    if path.stalls_above and payload >= path.stalls_above:
        scaled = min(scaled, sweep.stall_requests)
    return max(scaled, requesters * MIN_PER_REQUESTER)


def plan(sweep: Sweep) -> dict[Point, list[str]]:
    """Every point of the sweep, with the studies it serves, in the order they run. Paths alternate within
    each payload size, so that a noisy minute on a shared machine touches all of them alike."""
    studies: dict[Point, list[str]] = {}

    def add(study: str, path: BenchPath, concurrency: str, payload: int, window: int, requesters: int,
            responders: int) -> None:
        point = Point(path.name, concurrency, payload, window, requesters, responders,
                      requests_for(sweep, path, payload, requesters))
        studies.setdefault(point, []).append(study)

    for payload in sweep.payloads:
        for concurrency in sweep.modes:
            if concurrency == "processes" or payload in sweep.threads_payloads:
                for path in sweep.paths:
                    add("payload", path, concurrency, payload, path.window, sweep.requesters, sweep.responders)
    for window in sweep.windows:
        for path in sweep.paths:
            add("window", path, "processes", sweep.reference_payload, window, sweep.requesters, sweep.responders)
    for requesters, responders in sweep.counts:
        for concurrency in sweep.modes:
            for path in sweep.paths:
                if path.plain:
                    add("counts", path, concurrency, sweep.reference_payload, path.window, requesters, responders)
    return studies
