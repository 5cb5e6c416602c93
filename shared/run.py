"""One run, transport-neutral: start the response side, release the requesters together, collect and
verify their results, measure every process, and stop everything in `finally`.

The transport is a module (zmq_impl or native_impl) with the same `server`, `responder` and `requester`
surface; this module never names either.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from types import ModuleType

from shared.config import IN_ONE_PROCESS, START_DEADLINE, RunConfig
from shared.measure import MemoryTimeline, loopback_bytes, own_usage, process_usage, thread_cpu
from shared.results import RequesterResult, RoleUsage, RunResult, latency_summary
from shared.roles import POLL_SECONDS, RoleFailed, Roles
from shared.workload import workload_for

log = logging.getLogger(__name__)
LOSS_GRACE = 1.0  # seconds to look for a dead role behind another role's error
REPORT_GRACE = 0.5  # seconds for a role's last report to come through the pipe after it ended
Progress = Callable[[int, int], None]  # (requests answered so far, planned)


def role_name(config: RunConfig, role: str) -> str:
    return f"{config.transport} {role}"


def as_tasks(config: RunConfig) -> bool:
    return config.concurrency == "asyncio"


def responder_code(config: RunConfig, impl: ModuleType) -> ModuleType:
    """Where `respond` is: the responder module, or with asyncio the transport's tasks module, whose
    coroutine functions of the same names and arguments run as tasks."""
    return impl.tasks if as_tasks(config) else impl.responder


def requester_code(config: RunConfig, impl: ModuleType) -> ModuleType:
    return impl.tasks if as_tasks(config) else impl.requester


def start_response_side(roles: Roles, config: RunConfig, impl: ModuleType, *, with_server: bool = True) -> None:
    """The broker or manager server, then the responders; returns once every one of them is ready."""
    if with_server and impl.server.needed(config):
        name = role_name(config, impl.server.ROLE)
        ready = roles.event()
        roles.start(name, impl.server.serve, config, ready)
        roles.wait_ready(name, ready, START_DEADLINE)
        log.info("%s ready on %s", name, config.address)
    waiting = []
    for index in range(config.responders):
        name = role_name(config, f"responder {index}")
        ready = roles.event()
        roles.start(name, responder_code(config, impl).respond, config, index, ready)
        waiting.append((name, ready))
    for name, ready in waiting:
        roles.wait_ready(name, ready, START_DEADLINE + config.timeout)  # each may wait for its broker or server
    log.info("%d responders ready", config.responders)


def start_request_router(roles: Roles, config: RunConfig, impl: ModuleType) -> RunConfig:
    """zmq --shared-connection: start the local proxy that carries every requester's requests over one
    connection, once it has reached the broker; return the requesters' configuration, pointed at it."""
    router = impl.request_router
    name = role_name(config, router.ROLE)
    local, ready = router.local_address(), roles.event()
    roles.start(name, router.serve, config, local, ready)
    roles.wait_ready(name, ready, START_DEADLINE + config.timeout)
    log.info("%s ready on %s, for %s", name, local, config.address)
    return config.with_(router_address=local)


def run_requesters(roles: Roles, config: RunConfig, impl: ModuleType, progress: Progress | None = None,
                   memory: MemoryTimeline | None = None) -> tuple[list[RequesterResult], list[str]]:
    """Start the requesters, which wait for each other at a barrier, and collect what each brings back.

    A requester that fails (cannot connect, wrong key) breaks the barrier so that the others stop too.
    A run whose requesters make no progress for START_DEADLINE + timeout seconds is abandoned.
    """
    start = roles.barrier(config.requesters)
    counters = roles.counters(config.requesters)
    names = [role_name(config, f"requester {i}") for i in range(config.requesters)]
    request = requester_code(config, impl).request
    for requester_id, name in enumerate(names):
        roles.start(name, request, config, requester_id, start, counters)
    results: dict[str, RequesterResult] = {}
    errors: dict[str, str] = {}
    silent_since: dict[str, float] = {}
    last_change, last_done = time.monotonic(), -1
    while len(results) + len(errors) < len(names):
        reports = roles.next_reports(POLL_SECONDS)
        now = time.monotonic()
        for name, kind, payload in reports:
            if kind == "result":
                results[name] = payload
            else:
                errors[name] = payload
                start.abort()  # the others would wait for the missing party until the deadline
            last_change = now
        for name in names:  # a requester that died without a word (killed, crashed hard)
            if name in results or name in errors or roles.alive(name):
                continue
            silent_since.setdefault(name, now)
            if now - silent_since[name] > 1.0:  # its report may still be in the pipe
                errors[name] = "exited without reporting a result"
        if memory is not None:
            memory.sample(now)
        done = sum(counters)
        if last_done <= 0 < done:
            log.info("requests flowing: %d requesters released", config.requesters)
        if progress is not None:
            progress(done, config.requests)
        if done != last_done:
            last_change, last_done = now, done
        elif now - last_change > START_DEADLINE + config.timeout:
            for name in names:
                errors.setdefault(name, f"no progress for {START_DEADLINE + config.timeout:g} s")
            start.abort()
    ordered = [results[name] for name in names if name in results]
    return ordered, [f"{name}: {message}" for name, message in errors.items()]


def measure_roles(roles: Roles, config: RunConfig, results: list[RequesterResult]) -> list[RoleUsage]:
    """Peak memory and CPU per process: live roles read by psutil, requesters from their own account."""
    if config.concurrency in IN_ONE_PROCESS:  # per thread, see thread_cpu
        return [own_usage("process (all roles)")]
    requesters = {role_name(config, f"requester {r.requester_id}"): r for r in results}
    usage = [own_usage("parent")]
    usage += [u for name, pid in roles.processes()
              if name not in requesters and (u := process_usage(name, pid)) is not None]
    usage += [RoleUsage(name, 0, r.rss_peak_mib, r.cpu_seconds) for name, r in requesters.items()]
    return usage


def thread_usage(config: RunConfig, results: list[RequesterResult]) -> dict[str, float]:
    """With every role in this process, CPU seconds by kind of thread: the roles' own (requester threads
    counted as they ended) and the threads that serve them (libzmq's, the manager server's)."""
    if config.concurrency not in IN_ONE_PROCESS:
        return {}
    ended = {"requester": sum(r.thread_cpu_seconds for r in results)} if config.concurrency == "threads" else {}
    return thread_cpu(ended)


def summarize(config: RunConfig, results: list[RequesterResult], errors: list[str], usage: list) -> RunResult:
    answered = [r for r in results if r.ended]
    seconds = (max(r.ended for r in answered) - min(r.began for r in answered)) if answered else 0.0
    ok = sum(r.ok for r in results)
    duplicated = sum(r.duplicated for r in results)
    retries = sum(r.retries for r in results)
    failed = config.requests - ok  # whatever did not come back right, including requesters that failed
    failures = [f for r in results for f in r.failures]
    answered = sum(r.answered for r in results)
    return RunResult(config.parameters(), answered, ok, failed, duplicated, retries, seconds, latency_summary(results),
                     usage, errors, failures)


def run(config: RunConfig, impl: ModuleType, *, local_server: bool = True,
        progress: Progress | None = None) -> RunResult:
    """A whole run on this machine (or, with local_server=False, requesters against a running server)."""
    roles = Roles(config, impl.server.stop_threads if local_server else impl.server.stop_requesters)
    try:
        if local_server:
            start_response_side(roles, config, impl)
        memory = MemoryTimeline(roles.processes)
        loopback_before = loopback_bytes()
        requesters = start_request_router(roles, config, impl) if config.shared_connection else config
        results, errors = run_requesters(roles, requesters, impl, progress, memory)
        loopback = loopback_bytes() - loopback_before
        usage = measure_roles(roles, config, results)
        threads = thread_usage(config, results)
    finally:
        roles.stop()
    result = summarize(config, results, errors, usage)
    result.rss_timeline = memory.samples
    result.thread_cpu = threads
    workload = workload_for(config)
    sample = workload.request(0, 0)
    result.bytes_per_request = impl.codec.wire_bytes(config, sample, workload.expected(sample))
    result.bytes_per_request["loopback"] = round(loopback / config.requests) if config.requests else 0
    return result


@contextlib.contextmanager
def response_side(config: RunConfig, impl: ModuleType, *, with_server: bool = True) -> Iterator[Roles]:
    """The broker or server and its responders, ready while the block runs, stopped when it ends."""
    roles = Roles(config, impl.server.stop_threads)
    try:
        start_response_side(roles, config, impl, with_server=with_server)
        yield roles
    finally:
        roles.stop()


def serve(config: RunConfig, impl: ModuleType, on_ready: Callable[[], None], *, with_server: bool = True) -> None:
    """The response side alone, until a signal (KeyboardInterrupt or Terminated) or a role's failure.

    A role that died without a word explains the errors of the roles that lost it (responders that lost their
    server), so it is named first; a role that reported an error and then ended is named with its error.
    """
    with response_side(config, impl, with_server=with_server) as roles:
        on_ready()
        names = [role.name for role in roles.started]
        reported: dict[str, str] = {}
        dead_since: dict[str, float] = {}
        blame_after = float("inf")
        while True:
            report = roles.next_report(POLL_SECONDS if reported or dead_since else 1.0)
            now = time.monotonic()
            if report is not None and report[1] == "error":
                reported.setdefault(report[0], report[2])
                blame_after = min(blame_after, now + LOSS_GRACE)
            for name in names:
                if name in reported or roles.alive(name):
                    continue
                # Its report, if it made one before ending, may still be in the pipe: give it a moment.
                if now - dead_since.setdefault(name, now) >= REPORT_GRACE:
                    raise RoleFailed(name, f"exited unexpectedly ({roles.exit_status(name)})")
            if now >= blame_after:
                name, message = next(iter(reported.items()))
                raise RoleFailed(name, message)
