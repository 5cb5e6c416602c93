"""What timing every request costs: `reqrep run T` with latency recording on and off, alternately.

    python benchmarks/recording_cost.py --transport zmq --rounds 4

Each round runs both, in turn; the ratio off/on of throughput, and of CPU seconds per request of the
whole process tree, is paired per round. Target: recording costs at most 2% of throughput.
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


def one_run(args: argparse.Namespace, record: bool) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "run.json"
        command = [sys.executable, "-m", "shared.cli", "run", args.transport, "--quiet", "--json", str(path),
                   "--requests", str(args.requests), *([] if record else ["--no-latency"])]
        subprocess.run(command, capture_output=True, check=True, timeout=900)
        result = json.loads(path.read_text())
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    if result["ok"] != args.requests:
        raise SystemExit(f"requests lost: {result['ok']} ok of {args.requests}")
    return result["throughput_rps"], cpu / args.requests * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transport", choices=("zmq", "native"), required=True)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    throughput, cpu = [], []
    for round_number in range(1, args.rounds + 1):
        on_rps, on_cpu = one_run(args, True)
        off_rps, off_cpu = one_run(args, False)
        throughput.append(on_rps / off_rps)
        cpu.append(on_cpu / off_cpu)
        print(json.dumps({"round": round_number, "recording_rps": on_rps, "no_recording_rps": off_rps,
                          "recording_cpu_us_per_request": round(on_cpu, 1),
                          "no_recording_cpu_us_per_request": round(off_cpu, 1)}), flush=True)
    print(json.dumps({"transport": args.transport,
                      "throughput_on_over_off_median": round(statistics.median(throughput), 3),
                      "cpu_on_over_off_median": round(statistics.median(cpu), 3)}))


if __name__ == "__main__":
    main()
