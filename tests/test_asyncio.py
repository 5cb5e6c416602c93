"""`--concurrency asyncio`: requesters and responders as tasks of one event loop, on one thread."""

from __future__ import annotations

import signal
import threading

import psutil
import pytest
from conftest import TRANSPORTS, local_config, replies_of, start_reqrep, wait_for_line

from shared.core.ports import free_port
from shared.core.run import response_side, run

pytestmark = pytest.mark.timeout(90)


def test_200_requester_tasks_on_one_thread_complete_a_verified_zmq_run(monkeypatch):
    """Every requester and responder is a coroutine running on the same thread, the event loop's, which is
    not the thread that watches the run."""
    threads: dict[str, set] = {"request_async": set(), "respond_async": set()}
    for name in threads:
        original = getattr(TRANSPORTS["zmq"], name)

        async def noted(*args, original=original, name=name):
            threads[name].add(threading.get_ident())
            return await original(*args)

        monkeypatch.setattr(TRANSPORTS["zmq"], name, noted)
    config = local_config("zmq", requests=4000, requesters=200, responders=4, concurrency="asyncio")
    result = run(config)
    assert (result.ok, result.failed, result.duplicated) == (4000, 0, 0)
    assert result.succeeded and not result.errors
    assert len(threads["request_async"] | threads["respond_async"]) == 1
    assert threading.get_ident() not in threads["request_async"]
    assert result.parameters["concurrency"] == "asyncio"


def test_a_responder_task_whose_handler_raises_answers_500_and_goes_on(transport):
    """The rpc route raises ZeroDivisionError inside the one responder task: a 500, and the next requests
    are answered by the same task, so the loop goes on."""
    config = local_config(transport, responders=1, concurrency="asyncio", workload="rpc")
    requests = [{"method": "POST", "path": "/divide", "body": [1, 0]},
                {"method": "POST", "path": "/sum", "body": [1, 2, 3]},
                {"method": "POST", "path": "/divide", "body": [7, 0]},
                {"method": "POST", "path": "/echo", "body": "still here"}]
    with response_side(config) as roles:
        replies = replies_of(config, requests)
        assert roles.alive(f"{transport} responder 0")
    assert [reply["status"] for reply in replies] == [500, 200, 500, 200]
    assert replies[0]["body"].startswith("ZeroDivisionError")
    assert replies[3]["body"] == "still here"


@pytest.mark.parametrize("workload", ["echo", "rpc", "mirror"])
def test_asyncio_requesters_and_responders_verify_every_reply(transport, workload):
    """The same workload, answered and checked by tasks: rpc's share includes its 500s and 404s (requests
    98 and 99 of each requester)."""
    config = local_config(transport, requests=400, requesters=2, responders=2, concurrency="asyncio",
                          workload=workload)
    result = run(config)
    assert (result.ok, result.failed, result.duplicated, result.retries) == (400, 0, 0, 0)
    assert result.succeeded and not result.errors


def test_ctrl_c_cancels_every_task_and_ends_by_sigint(transport):
    run_ = start_reqrep("--verbose", "run", transport, "--requests", "5000000", "--requesters", "50",
                        "--concurrency", "asyncio", env={"PYTHONWARNINGS": "always::ResourceWarning"})
    wait_for_line(run_, "requests flowing", stream="stderr")
    assert psutil.Process(run_.pid).children(recursive=True) == []  # tasks and threads only
    run_.send_signal(signal.SIGINT)
    assert run_.wait(timeout=5) == -signal.SIGINT
    errors = run_.stderr.read()
    assert "cancelled 55 tasks; all ended" in errors  # 50 requesters and 5 responders
    for trouble in ("Traceback", "ResourceWarning", "Task was destroyed", "never retrieved"):
        assert trouble not in errors


def test_ctrl_c_while_requester_tasks_wait_for_an_absent_server(transport):
    """Tasks cancelled while they wait (in a worker thread) for a server that is not there: the waits end
    with them, and nothing holds the exit."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}" if transport == "zmq" else f"127.0.0.1:{port}"
    flag = "--front" if transport == "zmq" else "--address"
    request = start_reqrep(transport, "request", flag, address, "--requesters", "20", "--requests", "100",
                           "--timeout", "60", "--concurrency", "asyncio", env={"REQREP_AUTHKEY": "test-key"})
    wait_for_line(request, "waiting for the", stream="stderr")
    request.send_signal(signal.SIGINT)
    assert request.wait(timeout=5) == -signal.SIGINT
    assert "Traceback" not in request.stderr.read()
