"""One run: start the response side, release the requesters together, collect their results, measure every
process, and stop everything on the way out; the transport is asked through `config.transport`."""

from __future__ import annotations

import contextlib
import logging
import signal
import time
from collections.abc import Callable, Iterator
from functools import partial

from shared.core.config import START_DEADLINE, RunConfig, counted
from shared.core.faults import SIGNALS, parse_fault
from shared.core.measure import CpuBaseline, MemorySampler, loopback_bytes, own_usage, process_usage, thread_cpu
from shared.core.relay import relayed
from shared.core.results import RequesterResult, RoleUsage, RunResult, latency_summary
from shared.core.supervisor import GRACE, POLL_SECONDS, RoleFailed, Supervisor
from shared.core.workload import workload_for

log = logging.getLogger(__name__)
FAULT_POLL_SECONDS = 0.005
Progress = Callable[[int, int], None]  # (requests answered so far, planned)


def supervisor(config: RunConfig, *, local_server: bool = True) -> Supervisor:
    """A supervisor whose transport stops the roles that are threads (against a server not ours, requesters)."""
    stop = config.transport.stop_threads if local_server else config.transport.stop_requesters
    return Supervisor(config.concurrency, partial(stop, config))


def as_tasks(config: RunConfig) -> bool:
    return config.concurrency == "asyncio"


def start_response_side(roles: Supervisor, config: RunConfig, *, with_server: bool = True,
                        responders: RunConfig | None = None) -> None:
    """The broker or server, then the responders (as `responders` if given: through a relay), all ready."""
    transport = config.transport
    if with_server and transport.needs_server(config):
        name = config.role(config.server_role)
        roles.start(name, transport.serve, config, roles.ready(name))
        roles.wait_ready([name], START_DEADLINE)
        log.info("%s ready on %s", name, config.address)
    respond = transport.respond_async if as_tasks(config) else transport.respond
    names = [config.role(f"responder {index}") for index in range(config.responders)]
    for index, name in enumerate(names):
        roles.start(name, respond, responders or config, index, roles.ready(name))
    roles.wait_ready(names, START_DEADLINE + config.timeout)  # each may wait for its broker or server
    log.info("%s ready", counted(config.responders, "responder"))


def start_request_router(roles: Supervisor, config: RunConfig) -> RunConfig:
    """The transport's request router, if it has one, started and ready; the requesters' configuration."""
    router = config.transport.request_router(config)
    if router is None:
        return config
    serve, arguments, requesters = router
    name = config.role("request router")
    roles.start(name, serve, *arguments, roles.ready(name))
    roles.wait_ready([name], START_DEADLINE + config.timeout)
    return requesters


def run_requesters(roles: Supervisor, config: RunConfig, progress: Progress | None,
                   memory: MemorySampler) -> tuple[list[RequesterResult], list[str], str]:
    """Start the requesters, released together at a barrier; their results, the errors of those that failed
    (a failure breaks the barrier, so that the others stop too) and the fault inflicted, if any."""
    start = roles.barrier(config.requesters)
    counters = roles.counters(config.requesters)
    names = [config.role(f"requester {i}") for i in range(config.requesters)]
    request = config.transport.request_async if as_tasks(config) else config.transport.request
    for requester_id, name in enumerate(names):
        roles.start(name, request, config, requester_id, start, counters)
    watch = RequesterWatch(roles, config, names, counters, progress, memory)
    results: dict[str, RequesterResult] = {}
    errors: dict[str, str] = {}
    try:
        # A fault is inflicted at a share of the requests: a short run is looked at often enough to find it.
        for report in roles.watch(names, watch.tick, FAULT_POLL_SECONDS if config.fault else POLL_SECONDS):
            if not memory.timeline:  # a run shorter than a tick: sampled once, now
                memory.sample(time.monotonic())
            if report.failed:
                errors[report.role] = report.error
                start.abort()  # the others would wait for the missing party until the deadline
            else:
                results[report.role] = report.result
    finally:
        watch.end()
    ordered = [results[name] for name in names if name in results]
    return ordered, [f"{name}: {message}" for name, message in errors.items()], watch.inflicted


class RequesterWatch:
    """Between the requesters' reports: sample memory, show progress, inflict the fault, abandon a stalled run."""

    def __init__(self, roles: Supervisor, config: RunConfig, names: list[str], counters, progress: Progress | None,
                 memory: MemorySampler) -> None:
        self.roles, self.config, self.names, self.counters = roles, config, names, counters
        self.progress, self.memory = progress, memory
        self.fault = parse_fault(config.fault, config.responders) if config.fault else None
        self.inflicted = ""
        self.stall = START_DEADLINE + config.timeout
        self.done, self.changed, self.flowing = -1, time.monotonic(), 0.0

    def tick(self, now: float) -> None:
        self.memory.sample(now)
        done = sum(self.counters)
        if self.done <= 0 < done:
            log.info("requests flowing: %d requesters released", self.config.requesters)
            self.flowing = now
        if self.fault is not None and not self.inflicted and done > 0:
            if self.fault.due(now - self.flowing, done, self.config.requests):
                self.inflict(now - self.flowing)
        if self.progress is not None:
            self.progress(done, self.config.requests)
        if done != self.done:
            self.done, self.changed = done, now
        elif now - self.changed > self.stall:
            for name in self.names:
                self.roles.give_up(name, f"no progress for {self.stall:g} s (no reply from {self.config.address})")
            self.changed = float("inf")  # once

    def inflict(self, elapsed: float) -> None:
        name = self.config.role(f"responder {self.fault.responder}")
        self.roles.signal(name, SIGNALS[self.fault.kind])
        self.inflicted = self.fault.describe(elapsed)
        log.info("%s: %s", name, self.inflicted)

    def end(self) -> None:
        """A hung responder is continued, so that it can stop like the others."""
        if self.inflicted and self.fault.kind == "hang":
            self.roles.signal(self.config.role(f"responder {self.fault.responder}"), signal.SIGCONT)


def measure_roles(roles: Supervisor, config: RunConfig, results: list[RequesterResult],
                  memory: MemorySampler, since: CpuBaseline) -> list[RoleUsage]:
    """Peak memory and CPU per process: live roles read by psutil, requesters from their own account."""
    memory.sample(time.monotonic(), force=True)  # the live roles once more, at the end
    if roles.in_one_process:  # per thread, see thread_cpu
        return [own_usage("process (all roles)", "process", memory.peak(memory.SELF), since)]
    requesters = {config.role(f"requester {r.requester_id}"): r for r in results}
    usage = [own_usage("parent", "parent", memory.peak(memory.SELF), since)]
    usage += [u for name, pid in roles.processes() if name not in requesters
              and (u := process_usage(name, config.role(""), pid, memory.peak(name))) is not None]
    usage += [RoleUsage(name, "requester", 0, r.rss_peak_mib, r.cpu_seconds, *memory.peak(name, (r.pss_mib, r.uss_mib)))
              for name, r in requesters.items()]
    return usage


def thread_usage(roles: Supervisor, config: RunConfig, results: list[RequesterResult],
                 since: CpuBaseline) -> dict[str, float]:
    """With every role in this process, CPU seconds by kind of thread (requester threads as they ended)."""
    if not roles.in_one_process:
        return {}
    ended = {"requester": sum(r.thread_cpu_seconds for r in results)} if not as_tasks(config) else {}
    return thread_cpu(ended, config.transport.thread_kinds, config.role(""), since)


def summarize(config: RunConfig, results: list[RequesterResult], errors: list[str], usage: list) -> RunResult:
    answered = [r for r in results if r.ended]
    seconds = (max(r.ended for r in answered) - min(r.began for r in answered)) if answered else 0.0
    ok = sum(r.ok for r in results)
    failed = config.requests - ok  # whatever did not come back right, including requesters that failed
    return RunResult(parameters=config.parameters(), answered=sum(r.answered for r in results), ok=ok,
                     failed=failed, duplicated=sum(r.duplicated for r in results),
                     retries=sum(r.retries for r in results), seconds=seconds, latency_us=latency_summary(results),
                     roles=usage, errors=errors, failures=[f for r in results for f in r.failures])


def run(config: RunConfig, *, local_server: bool = True, progress: Progress | None = None) -> RunResult:
    """A whole run on this machine (or, with local_server=False, requesters against a running server)."""
    since = CpuBaseline()
    with relayed(config) as sides, supervisor(config, local_server=local_server) as roles:
        if local_server:
            start_response_side(roles, config, responders=sides.responders)
        memory = MemorySampler(roles.processes)
        loopback_before = loopback_bytes()
        requesters = start_request_router(roles, sides.requesters)
        results, errors, fault = run_requesters(roles, requesters, progress, memory)
        loopback = loopback_bytes() - loopback_before
        usage = measure_roles(roles, config, results, memory, since)
        threads = thread_usage(roles, config, results, since)
        errors += [f"{report.role}: {report.error}" for report in roles.stray if report.failed]
    result = summarize(config, results, errors, usage)
    result.pss_timeline = [(seconds, pss) for seconds, pss, _ in memory.timeline]
    result.rss_timeline = [(seconds, rss) for seconds, _, rss in memory.timeline]
    result.thread_cpu = threads
    result.fault = fault
    result.bytes_per_request = request_weight(config)
    result.bytes_per_request["loopback"] = round(loopback / config.requests) if config.requests else 0
    return result


def request_weight(config: RunConfig) -> dict:
    """What the first request and its reply weigh on the wire, or a payload's values on average."""
    if config.payload is not None:
        return config.payload.sizes(config)
    workload = workload_for(config)
    sample = workload.request(0, 0)
    return config.transport.wire_bytes(config, sample, workload.expected(sample))


@contextlib.contextmanager
def response_side(config: RunConfig, *, with_server: bool = True) -> Iterator[Supervisor]:
    """The broker or server and its responders, ready while the block runs, stopped when it ends."""
    with supervisor(config) as roles:
        start_response_side(roles, config, with_server=with_server)
        yield roles


def serve(config: RunConfig, on_ready: Callable[[], None], *, with_server: bool = True) -> None:
    """The response side alone, until a signal or a role's failure. A failure is held for twice GRACE, so
    that a role that died is named rather than those that lost it."""
    with response_side(config, with_server=with_server) as roles:
        on_ready()
        failures = []
        blame_after = float("inf")

        def tick(now: float) -> None:
            if now >= blame_after:
                died = [report for report in failures if report.kind == "exit"]
                raise RoleFailed((died or failures)[0].role, (died or failures)[0].error)

        for report in roles.watch(roles.names(), tick):
            if report.failed:
                failures.append(report)
                blame_after = min(blame_after, time.monotonic() + 2 * GRACE)
        if failures:  # every role ended
            tick(float("inf"))
