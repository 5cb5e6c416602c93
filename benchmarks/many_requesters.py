"""A thousand requesters from one machine, as asyncio tasks, threads and processes: what each mode costs.

    python benchmarks/many_requesters.py --requesters 1000 --requests 100000 --out many.json

Each run is `reqrep run TRANSPORT --concurrency MODE --requesters N` (verified reply by reply). Besides the
run's own figures (throughput, latency percentiles, the sum of every process's peak resident memory), this
samples the proportional set size (PSS) of the whole process tree while it runs: with a thousand forked
processes, resident sizes count the pages they share a thousand times, PSS once.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

MIB = 1024 * 1024


def tree_pss_mib(root: psutil.Process) -> tuple[float, int, int]:
    """(PSS of the process and its descendants in MiB, processes, threads) at this moment."""
    total, processes, threads = 0, 0, 0
    for process in [root, *root.children(recursive=True)]:
        try:
            total += process.memory_full_info().pss
            threads += process.num_threads()
            processes += 1
        except psutil.Error:
            continue  # it ended meanwhile
    return total / MIB, processes, threads


def one_run(transport: str, mode: str, args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "run.json"
        command = [sys.executable, "-m", "shared.cli", "run", transport, "--concurrency", mode,
                   "--requesters", str(args.requesters), "--requests", str(args.requests),
                   "--responders", str(args.responders), "--timeout", str(args.timeout), "--quiet",
                   "--json", str(out)]
        began = time.monotonic()
        run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        root = psutil.Process(run.pid)
        peak_pss, most_processes, most_threads = 0.0, 0, 0
        try:
            while run.poll() is None:
                if time.monotonic() - began > args.deadline:
                    run.terminate()
                    run.wait(10)
                    return {"transport": transport, "concurrency": mode, "error": f"over {args.deadline} s"}
                pss, processes, threads = tree_pss_mib(root)
                peak_pss = max(peak_pss, pss)
                most_processes, most_threads = max(most_processes, processes), max(most_threads, threads)
                time.sleep(args.sample_seconds)  # a sampling interval, not a synchronisation
        finally:
            if run.poll() is None:
                run.kill()
                run.wait()
        errors = run.stderr.read()
        if not out.exists():
            return {"transport": transport, "concurrency": mode, "error": errors.strip()[-300:]}
        result = json.loads(out.read_text())
    return {"transport": transport, "concurrency": mode, "ok": result["ok"], "failed": result["failed"],
            "throughput_rps": result["throughput_rps"], "latency_us": result["latency_us"],
            "rss_peak_mib_total": result["rss_peak_mib_total"], "pss_peak_mib": round(peak_pss, 1),
            "processes": most_processes, "threads": most_threads, "cpu_seconds": result["cpu_seconds"],
            "cpu_seconds_by_thread": result.get("cpu_seconds_by_thread", {}),
            "wall_seconds": round(time.monotonic() - began, 1), "errors": result["errors"][:3]}


def markdown(rows: list[dict]) -> str:
    lines = ["| transport | concurrency | ok | requests/s | p50 (ms) | p99 (ms) | peak RSS, summed (MiB) | "
             "peak PSS (MiB) | processes | threads | wall (s) |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        if "error" in row:
            lines.append(f"| {row['transport']} | {row['concurrency']} | {row['error']} |" + " |" * 8)
            continue
        latency = row["latency_us"]
        lines.append(f"| {row['transport']} | {row['concurrency']} | {row['ok']:,} | {row['throughput_rps']:,.0f} | "
                     f"{latency['p50'] / 1000:,.1f} | {latency['p99'] / 1000:,.1f} | "
                     f"{row['rss_peak_mib_total']:,.0f} | {row['pss_peak_mib']:,.0f} | {row['processes']:,} | "
                     f"{row['threads']:,} | {row['wall_seconds']:,.0f} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requesters", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--responders", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--transports", nargs="+", default=["zmq", "native"])
    parser.add_argument("--modes", nargs="+", default=["asyncio", "threads", "processes"])
    parser.add_argument("--deadline", type=float, default=600.0, help="seconds a run may take in all")
    parser.add_argument("--sample-seconds", type=float, default=1.0)
    parser.add_argument("--out", help="write the rows as JSON here")
    args = parser.parse_args()
    rows = []
    for mode in args.modes:
        for transport in args.transports:
            rows.append(one_run(transport, mode, args))
            print(json.dumps(rows[-1]), flush=True)
    print(markdown(rows))
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=2) + "\n")
    failed = [row for row in rows if "error" in row or row["failed"]]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
