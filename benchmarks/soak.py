"""Soak: a long run on each variant, resident memory sampled every second; does memory grow?

    python benchmarks/soak.py [--requests 1000000] [--transports zmq native]

Each variant runs `reqrep run T --requests N --json ...` (defaults otherwise: router, 5 requesters,
5 responders, processes). Growth compares the largest sample of the last 10% of the run with the largest
of the first 10% (start-up included). Target: under 10%.
Not part of the test suite: 1,000,000 requests take about 1.5 minutes on zmq and 5 on native here.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path


def soak(transport: str, requests: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "soak.json"
        command = [sys.executable, "-m", "shared.cli", "run", transport, "--requests", str(requests), "--quiet",
                   "--json", str(path)]
        subprocess.run(command, check=False, capture_output=True, text=True, timeout=3600)
        result = json.loads(path.read_text())
    timeline = result["rss_timeline_mib"]
    last = timeline[-1][0]
    head = [mib for seconds, mib in timeline if seconds <= last * 0.1] or [timeline[0][1]]
    # The end: the largest of the last 10% of samples, taken while every process was still there (the
    # very last ones may miss requesters that have finished and exited).
    tail = [mib for seconds, mib in timeline if seconds >= last * 0.9] or [timeline[-1][1]]
    baseline, final = max(head), max(tail)
    return {"transport": transport, "requests": requests, "ok": result["ok"], "failed": result["failed"],
            "seconds": result["seconds"], "throughput_rps": result["throughput_rps"], "samples": len(timeline),
            "rss_first_10pct_max_mib": baseline, "rss_end_mib": final, "rss_max_mib": max(m for _, m in timeline),
            "growth_pct": round((final - baseline) / baseline * 100, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--transports", nargs="+", default=["zmq", "native"])
    args = parser.parse_args()
    for transport in args.transports:
        print(json.dumps(soak(transport, args.requests)), flush=True)


if __name__ == "__main__":
    main()
