"""The presets, each a named set of studies with the counts they share, and the studies by name."""

from __future__ import annotations

from dataclasses import replace

from shared.bench.peers import PEERS
from shared.bench.point import Point
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
    # A hang at 98%: after it a pushing broker pays a timeout for nearly every request, a pulling path one.
    Sweep("faults", "push against pull: a responder killed or hung mid-run and uneven service times, with reqrep's "
          "retries and by themselves, on every path of the fault study: minutes",
          (Dispatch(("kill", "hang@98%"), ("slow:1%:50ms", "slow:0.5%:50ms", "exp:1ms")),
           Faults(("kill", "hang@98%"), (1,))), requests=30_000, rounds=2, requesters=5, responders=5, timeout=1.0),
    Sweep("faults-tiny", "the fault studies in seconds",
          (Dispatch(("hang@99%",), ("slow:1%:50ms",)), Faults(("hang@99%",), (1,))), requests=2000, requesters=3,
          responders=3, timeout=0.5),
    Sweep("brokers", "healthy runs of the fault study's paths (zmq proxy, zmq balancing, native), paired per round: "
          "what the balancing broker costs against zmq.proxy, about a minute", (Dispatch((), ()),), requests=30_000,
          rounds=5, requesters=5, responders=5),
    Sweep("brokers-tiny", "the brokers study in seconds", (Dispatch((), ()),), requests=2000, rounds=2, requesters=3,
          responders=3),
    Sweep("local", "loopback TCP against local sockets (`--local`) on each transport, 5 requesters in lockstep and 5 "
          "responders, paired per round: minutes", (Local(),), requests=20_000, rounds=8, requesters=5, responders=5),
    Sweep("local-tiny", "the local study in seconds", (Local(),), requests=600, rounds=2),
    Sweep("delay", "0 and 2 ms of network delay between the requesters, the broker or server and the responders",
          (Delay((0.0, 2.0)),), requests=2000, rounds=3, requesters=5, responders=5),
    Sweep("delay-tiny", "the delay study in seconds", (Delay((1.0,)),), requests=100),
    Sweep("ndarray", "NumPy arrays of 1 KiB to 8 MiB on every path that carries them, zero-copy sends on and off, "
          "and where each round trip's time goes", (Arrays(ARRAY_SIZES, fewest=100),), requests=8000, rounds=3,
          requesters=1, responders=1),
    Sweep("ndarray-tiny", "the ndarray study in seconds", (Arrays((8 * KIB, MIB), fewest=8),), requests=200,
          requesters=1, responders=1),
    Sweep("peers", "reqrep's transports, broker and one-hop shapes, beside the Python alternatives (gRPC, HTTP/1.1, "
          "Pyro5, rpyc, multiprocessing.connection, zerorpc: the extra `peers`), paired per round: minutes",
          (PEERS_STUDY,), requests=10_000, rounds=5, requesters=5, responders=5, modes=("processes",)),
    Sweep("peers-tiny", "the peers study in seconds", (PEERS_STUDY,), requests=500, rounds=2, requesters=3,
          responders=3, modes=("processes",)),
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
