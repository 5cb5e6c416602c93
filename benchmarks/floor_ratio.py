"""Throughput of `reqrep run` against the reference floor, measured alternately in one sitting.

    python benchmarks/floor_ratio.py --floor ../shared/floor/floor.py --transport zmq --rounds 3

Both sides are timed the same way (from the release of the requesters to the last reply, start-up not
counted); each round runs the floor then reqrep with the same counts, and the ratios are paired per round
so that a noisy moment of a shared machine hits both sides of a pair alike.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path


def children_cpu() -> float:
    """CPU seconds of every finished descendant so far (the kernel adds each reaped tree to its parent's)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(run, *arguments) -> tuple[float, float]:
    """(throughput, CPU seconds of the whole process tree): CPU per request is steadier than throughput
    on a machine shared with others."""
    before = children_cpu()
    throughput = run(*arguments)
    return throughput, children_cpu() - before


def floor_run(floor: str, args: argparse.Namespace) -> float:
    command = [sys.executable, floor, args.transport, "--requests", str(args.requests),
               "--requesters", str(args.requesters), "--responders", str(args.responders),
               "--window", str(args.window)]
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=900)
    return json.loads(done.stdout.strip().splitlines()[-1])["throughput_rps"]


def reqrep_run(args: argparse.Namespace, extra: list[str]) -> float:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "result.json"
        command = [sys.executable, "-m", "shared.cli", "run", args.transport, "--quiet", "--json", str(path),
                   "--requests", str(args.requests), "--requesters", str(args.requesters),
                   "--responders", str(args.responders), "--window", str(args.window), *extra]
        subprocess.run(command, capture_output=True, text=True, check=True, timeout=900)
        result = json.loads(path.read_text())
    if result["ok"] != args.requests:
        raise SystemExit(f"reqrep run lost requests: {result['ok']} ok of {args.requests}")
    return result["throughput_rps"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--floor", required=True, help="path to floor.py")
    parser.add_argument("--transport", choices=("zmq", "native"), required=True)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--requesters", type=int, default=5)
    parser.add_argument("--responders", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--window", type=int, default=1, help="requests in flight per requester, on both sides")
    parser.add_argument("extra", nargs="*", help="more options for reqrep run only (after --), e.g. --batch")
    args = parser.parse_args()
    rows = []
    for round_number in range(1, args.rounds + 1):
        floor, floor_cpu = timed(floor_run, args.floor, args)
        ours, our_cpu = timed(reqrep_run, args, args.extra)
        rows.append({"round": round_number, "floor_rps": floor, "reqrep_rps": ours, "ratio": round(ours / floor, 3),
                     "floor_cpu_us_per_request": round(floor_cpu / args.requests * 1e6, 1),
                     "reqrep_cpu_us_per_request": round(our_cpu / args.requests * 1e6, 1)})
        print(json.dumps(rows[-1]), flush=True)
    ratios = [row["ratio"] for row in rows]
    cpu_ratios = [row["reqrep_cpu_us_per_request"] / row["floor_cpu_us_per_request"] for row in rows]
    print(json.dumps({"transport": args.transport, "requests": args.requests, "window": args.window,
                      "extra": args.extra, "rounds": args.rounds,
                      "ratio_median": round(statistics.median(ratios), 3),
                      "ratio_min": round(min(ratios), 3), "ratio_max": round(max(ratios), 3),
                      "cpu_per_request_ratio_median": round(statistics.median(cpu_ratios), 3)}))


if __name__ == "__main__":
    main()
