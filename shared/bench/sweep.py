"""What a `reqrep bench` covers: the presets, each a named set of studies (shared/bench/studies/) with the counts
they share, and the plan, every point of those studies once. Plain data: bench.py runs it, the studies read
what it gave."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from shared.bench.studies.counts import Counts
from shared.bench.studies.delay import Delay
from shared.bench.studies.dispatch import Dispatch
from shared.bench.studies.faults import Faults
from shared.bench.studies.many import Many
from shared.bench.studies.memory import Memory
from shared.bench.studies.ndarray import Arrays
from shared.bench.studies.payload import Payloads
from shared.bench.studies.recording import Recording
from shared.bench.studies.soak import Soak
from shared.bench.studies.stalls import Stalls
from shared.bench.studies.values import Values
from shared.bench.studies.window import Windows
from shared.bench.study import TEXT, Point, Study, run_options
from shared.core.bench_paths import BenchPath
from shared.core.config import CONCURRENCY, check_counts, check_timeout
from shared.core.errors import UsageError
from shared.core.sizes import KIB, MIB

if TYPE_CHECKING:
    from shared.semantics.values import Payload

SCALE_BYTES = 8 * KIB  # requests per point fall as payloads grow past this, so that each point takes about as long
MIN_PER_REQUESTER = 4  # however large the payload, every requester sends a few


@dataclass(frozen=True)
class Sweep:
    """A preset made ready to run: its studies, and what their points share. Studies share points too: a run
    that serves two tables runs once."""

    preset: str
    description: str  # one line for --help
    studies: tuple[Study, ...]
    requests: int  # per point (at small payloads: fewer as payloads grow)
    stall_requests: int = 60  # the most for a path that stalls at a payload size, where each request waits ~80 ms
    rounds: int = 1  # passes over the whole plan; each figure is the median of a point's rounds
    timeout: float = 10.0
    requesters: int = 2
    responders: int = 2
    reference_payload: int = KIB  # the payload of the studies that do not vary it, where they pad requests
    paths: tuple[BenchPath, ...] = ()  # every transport's paths, the registry's order
    modes: tuple[str, ...] = CONCURRENCY  # the concurrency modes the sweep runs (processes always)
    payload: Payload | None = None  # the user's values (--payload), for the points of the values study
    left_out: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (path, why): paths whose codec cannot carry them

    def path(self, name: str) -> BenchPath:
        return next(path for path in self.paths if path.name == name)

    def requests_for(self, path: BenchPath, payload: int, requesters: int) -> int:
        scaled = self.requests * SCALE_BYTES // (SCALE_BYTES + payload)
        if path.stalls_above and payload >= path.stalls_above:
            scaled = min(scaled, self.stall_requests)
        return max(scaled, requesters * MIN_PER_REQUESTER)

    def point(self, path: BenchPath, concurrency: str = "processes", payload: int = 0, *, window: int | None = None,
              requesters: int | None = None, responders: int | None = None, payload_kind: str = TEXT,
              **further: Any) -> Point:
        """A point of `path` with the sweep's counts unless given; `further` run options left out when None."""
        requesters = requesters or self.requesters
        return Point(path.name, concurrency, payload, window or path.window, requesters, responders or self.responders,
                     self.requests_for(path, payload, requesters), run_options(**further), payload_kind)

    def parameters(self) -> dict:
        return {"preset": self.preset, "requests": self.requests, "stall_requests": self.stall_requests,
                "rounds": self.rounds, "timeout": self.timeout, "requesters": self.requesters,
                "responders": self.responders, "reference_payload": self.reference_payload,
                "concurrency": list(self.modes), "studies": [study.parameters() for study in self.studies],
                "payload": self.payload.source if self.payload is not None else None,
                "left_out": {name: list(why) for name, why in self.left_out},
                "paths": {path.name: {"transport": path.transport, "codec": path.codec, "settings": dict(path.settings),
                                      "window": path.window, "description": path.description}
                          for path in self.paths}}


ALL_PAYLOADS = (16, KIB, 16 * KIB, 32 * KIB, 256 * KIB, MIB)
STALL_PAYLOADS = (KIB, 16 * KIB, 32 * KIB)
ARRAY_SIZES = (KIB, 8 * KIB, 64 * KIB, 256 * KIB, 512 * KIB, MIB, 8 * MIB)  # zero-copy sends pay from 256 or 512 KiB
PRESETS: dict[str, Sweep] = {sweep.preset: sweep for sweep in (
    Sweep("full", "every path against payload size, window and counts, as processes, threads and asyncio: "
          "minutes",
          (Payloads(ALL_PAYLOADS, ALL_PAYLOADS), Windows((1, 16)), Stalls(STALL_PAYLOADS),
           Counts(((1, 1), (2, 2), (5, 5), (10, 5))), Memory((KIB, MIB))), requests=4000, rounds=3),
    Sweep("quick", "the full sweep's tables with fewer points and requests: within a minute",
          (Payloads((KIB, 16 * KIB, 32 * KIB, 256 * KIB), (KIB, 32 * KIB)), Windows((1, 16)), Stalls(STALL_PAYLOADS),
           Counts(((5, 5),)), Memory((KIB, 32 * KIB))), requests=800, stall_requests=16),
    Sweep("tiny", "the full sweep's tables from a few points: seconds (a smoke test)",
          (Payloads((KIB, 32 * KIB), (KIB,)), Windows((1, 16)), Stalls((KIB, 32 * KIB)), Memory((KIB,))),
          requests=200, stall_requests=6, timeout=5.0),
    Sweep("recording", "what timing every request costs: latency recording on and off, alternately, paired per "
          "round", (Recording(),), requests=100_000, rounds=5, requesters=5, responders=5),
    Sweep("recording-tiny", "the recording study in seconds", (Recording(),), requests=600, rounds=2),
    Sweep("many", "10, 100 and 1,000 requesters as processes, threads and asyncio tasks",
          (Many((10, 100, 1000)),), requests=20_000, responders=5, timeout=30.0),
    Sweep("many-tiny", "the many-requesters study in seconds", (Many((8,)),), requests=200),
    Sweep("soak", "a long run per transport: does memory grow?", (Soak(),), requests=500_000, requesters=5,
          responders=5),
    Sweep("soak-tiny", "the soak study in seconds", (Soak(),), requests=3000),
    # A hang comes once 98% of the requests are answered: after it, a pushing broker costs nearly every request a
    # timeout (15 to 30 requests a second go through), so that its run takes a minute or less; the pulling paths
    # pay one timeout wherever it lands. The target needs a healthy run several times the timeout: 30,000 requests.
    # Two rounds: the preset takes about 6 minutes on 2 busy cores (3 rounds took 10).
    Sweep("faults", "push against pull: a responder killed or hung mid-run and uneven service times, with reqrep's "
          "retries and by themselves, on every path of the fault study: minutes",
          (Dispatch(("kill", "hang@98%"), ("slow:1%:50ms", "slow:0.5%:50ms", "exp:1ms")),
           Faults(("kill", "hang@98%"), (1,))), requests=30_000, rounds=2, requesters=5, responders=5, timeout=1.0),
    Sweep("faults-tiny", "the fault studies in seconds",
          (Dispatch(("hang@99%",), ("slow:1%:50ms",)), Faults(("hang@99%",), (1,))), requests=2000, requesters=3,
          responders=3, timeout=0.5),
    # The healthy runs of the fault study alone, in more rounds: what the balancing broker's Python loop costs
    # against zmq.proxy's C, as a ratio paired per round (each round a pass over the three paths).
    Sweep("brokers", "healthy runs of the fault study's paths (zmq proxy, zmq balancing, native), paired per round: "
          "what the balancing broker costs against zmq.proxy, about a minute", (Dispatch((), ()),), requests=30_000,
          rounds=5, requesters=5, responders=5),
    Sweep("brokers-tiny", "the brokers study in seconds", (Dispatch((), ()),), requests=2000, rounds=2, requesters=3,
          responders=3),
    Sweep("delay", "0 and 2 ms of network delay between the requesters, the broker or server and the responders",
          (Delay((0.0, 2.0)),), requests=2000, rounds=3, requesters=5, responders=5),
    Sweep("delay-tiny", "the delay study in seconds", (Delay((1.0,)),), requests=100),
    Sweep("ndarray", "NumPy arrays of 1 KiB to 8 MiB on every path that carries them, zero-copy sends on and off, "
          "and where each round trip's time goes", (Arrays(ARRAY_SIZES, fewest=100),), requests=8000, rounds=3,
          requesters=1, responders=1),
    Sweep("ndarray-tiny", "the ndarray study in seconds", (Arrays((8 * KIB, MIB), fewest=8),), requests=200,
          requesters=1, responders=1),
)}
# The preset of --payload, chosen by it alone: the user's values on each path that carries them.
VALUES_SWEEP = Sweep("values", "your own values on each transport's own path and zmq's msgpack-ext", (Values(),),
                     requests=20_000, rounds=3, requesters=5, responders=5)


def choose_sweep(preset: str | None, paths: list[BenchPath], requests: int | None, timeout: float | None,
                 modes: list[str] | None = None, payload: Payload | None = None) -> Sweep:
    """The preset over `paths` (None: full, or values with a payload), with the user's --requests, --timeout,
    --concurrency and --payload checked and applied."""
    if payload is not None and preset is not None:
        raise UsageError(f"--payload sends your values in a preset of its own: not with --preset {preset}")
    sweep = VALUES_SWEEP if payload is not None else PRESETS[preset or "full"]
    for study in sweep.studies:
        study.requires()
    changes: dict = {"paths": tuple(paths), "payload": payload}
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


def plan(sweep: Sweep) -> dict[Point, list[str]]:
    """Every point of the sweep's studies, with the studies it serves, in the order they run."""
    studies: dict[Point, list[str]] = {}
    for study in sweep.studies:
        for point in study.points(sweep):
            studies.setdefault(point, []).append(study.name)
    return studies
