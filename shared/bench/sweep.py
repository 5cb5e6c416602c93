"""The presets, each a named set of studies with the counts they share, and the studies by name."""

from __future__ import annotations

from dataclasses import replace

from shared.bench.peers import PEERS
from shared.bench.point import Point
from shared.bench.presets import DESCRIPTIONS
from shared.bench.studies.conditions import Delay, Many, Recording, Soak
from shared.bench.studies.faults import Dispatch, Faults
from shared.bench.studies.local import Local
from shared.bench.studies.peers import Peers
from shared.bench.studies.sweep import Counts, Memory, Payloads, Stalls, Windows
from shared.bench.studies.values import Arrays, Values
from shared.bench.study import MIN_PER_REQUESTER, Study, Sweep, own_transports, plan
from shared.core.bench_paths import BenchPath
from shared.core.config import CONCURRENCY, check_counts, check_timeout
from shared.core.errors import UsageError
from shared.core.sizes import KIB, MIB
from shared.semantics.values import Payload

__all__ = ["MIN_PER_REQUESTER", "PRESETS", "STUDIES", "Point", "Sweep", "choose_sweep", "plan"]

ALL_PAYLOADS = (16, KIB, 16 * KIB, 32 * KIB, 256 * KIB, MIB)
STALL_PAYLOADS = (KIB, 16 * KIB, 32 * KIB)
PEERS_STUDY = Peers(tuple(PEERS))
ARRAY_SIZES = (KIB, 8 * KIB, 64 * KIB, 256 * KIB, 512 * KIB, MIB, 8 * MIB)


def preset(name: str, studies: tuple[Study, ...], **counts) -> Sweep:
    """Preset `name`, described as shared/bench/presets.py says (the command line reads it there)."""
    return Sweep(name, DESCRIPTIONS[name], studies, **counts)


PRESETS: dict[str, Sweep] = {sweep.preset: sweep for sweep in (
    preset("full", (Payloads(ALL_PAYLOADS, ALL_PAYLOADS), Windows((1, 16)), Stalls(STALL_PAYLOADS),
                    Counts(((1, 1), (2, 2), (5, 5), (10, 5))), Memory((KIB, MIB))), requests=4000, rounds=3),
    preset("quick", (Payloads((KIB, 16 * KIB, 32 * KIB, 256 * KIB), (KIB, 32 * KIB)), Windows((1, 16)),
                     Stalls(STALL_PAYLOADS), Counts(((5, 5),)), Memory((KIB, 32 * KIB))), requests=800,
           stall_requests=16),
    preset("tiny", (Payloads((KIB, 32 * KIB), (KIB,)), Windows((1, 16)), Stalls((KIB, 32 * KIB)), Memory((KIB,))),
           requests=200, stall_requests=6, timeout=5.0),
    preset("recording", (Recording(),), requests=100_000, rounds=5, requesters=5, responders=5),
    preset("recording-tiny", (Recording(),), requests=600, rounds=2),
    preset("many", (Many((10, 100, 1000)),), requests=20_000, responders=5, timeout=30.0),
    preset("many-tiny", (Many((8,)),), requests=200),
    preset("soak", (Soak(),), requests=500_000, requesters=5, responders=5),
    preset("soak-tiny", (Soak(),), requests=3000),
    # A hang at 98%: after it a pushing broker pays a timeout for nearly every request, a pulling path one.
    preset("faults", (Dispatch(("kill", "hang@98%"), ("slow:1%:50ms", "slow:0.5%:50ms", "exp:1ms")),
                      Faults(("kill", "hang@98%"), (1,))), requests=30_000, rounds=2, requesters=5, responders=5,
           timeout=1.0),
    preset("faults-tiny", (Dispatch(("hang@99%",), ("slow:1%:50ms",)), Faults(("hang@99%",), (1,))), requests=2000,
           requesters=3, responders=3, timeout=0.5),
    preset("brokers", (Dispatch((), ()),), requests=30_000, rounds=5, requesters=5, responders=5),
    preset("brokers-tiny", (Dispatch((), ()),), requests=2000, rounds=2, requesters=3, responders=3),
    preset("local", (Local(),), requests=20_000, rounds=8, requesters=5, responders=5),
    preset("local-tiny", (Local(),), requests=600, rounds=2),
    preset("delay", (Delay((0.0, 2.0)),), requests=2000, rounds=3, requesters=5, responders=5),
    preset("delay-tiny", (Delay((1.0,)),), requests=100),
    preset("ndarray", (Arrays(ARRAY_SIZES, fewest=100),), requests=8000, rounds=3, requesters=1, responders=1),
    preset("ndarray-tiny", (Arrays((8 * KIB, MIB), fewest=8),), requests=200, requesters=1, responders=1),
    preset("peers", (PEERS_STUDY,), requests=10_000, rounds=5, requesters=5, responders=5, modes=("processes",)),
    preset("peers-tiny", (PEERS_STUDY,), requests=500, rounds=2, requesters=3, responders=3, modes=("processes",)),
)}
# The preset of --payload, chosen by it alone.
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
    brought = tuple(path for each in own_transports(sweep).values() for path in each.bench_paths)
    changes: dict = {"paths": (*paths, *brought), "payload": payload}
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


STUDIES: dict[str, type[Study]] = {study.name: study for study in (
    Counts, Delay, Dispatch, Faults, Local, Many, Memory, Arrays, Payloads, Peers, Recording, Soak, Stalls, Values,
    Windows)}
