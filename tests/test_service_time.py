"""`--service-time`: its three forms parsed, their draws as described, nonsense refused with one sentence and
exit 2, and responders that really take that long (blocking, and asyncio tasks that sleep without holding up
the loop) on every variant."""

from __future__ import annotations

import random
import statistics

import pytest
from conftest import local_config, reqrep

from shared.core.errors import UsageError
from shared.core.run import run
from shared.core.service_time import ServiceTime, parse_service_time

pytestmark = pytest.mark.timeout(60)
DRAWS = 20_000


@pytest.mark.parametrize("text, parsed", [
    ("fixed:2ms", ServiceTime("fixed", 0.002)),
    ("exp:1ms", ServiceTime("exp", 0.001)),
    ("slow:1%:50ms", ServiceTime("slow", 0.05, 0.01)),
    ("fixed:250us", ServiceTime("fixed", 0.00025)),
    ("exp:1.5s", ServiceTime("exp", 1.5)),
    ("slow:12.5%:3ms", ServiceTime("slow", 0.003, 0.125)),
])
def test_each_form_parses(text, parsed):
    found = parse_service_time(text)
    assert (found.kind, found.share) == (parsed.kind, parsed.share)
    assert found.seconds == pytest.approx(parsed.seconds)


def test_draws_follow_their_form():
    rng = random.Random(15)
    assert {parse_service_time("fixed:2ms").sampler(rng)() for _ in range(10)} == {0.002}
    slow = [parse_service_time("slow:1%:50ms").sampler(rng)() for _ in range(DRAWS)]
    assert set(slow) == {0.0, 0.05} and 0.005 < slow.count(0.05) / DRAWS < 0.015
    exp = [parse_service_time("exp:1ms").sampler(rng)() for _ in range(DRAWS)]
    assert statistics.mean(exp) == pytest.approx(0.001, rel=0.05) and min(exp) >= 0


@pytest.mark.parametrize("text", ["exp", "exp:", "fixed:2", "fixed:0ms", "slow:1%", "slow:150%:5ms", "slow:0%:5ms",
                                  "fast:1ms", "fixed:1ms:2ms", "exp:2m", "fixed:-1ms", "fixed:120s", "exp:1%:1ms"])
def test_nonsense_is_refused_with_one_sentence(text):
    with pytest.raises(UsageError, match="--service-time"):
        parse_service_time(text)
    done = reqrep("run", "zmq", "--service-time", text)
    assert done.returncode == 2 and "--service-time" in done.stderr and "Traceback" not in done.stderr, done.stderr


@pytest.mark.parametrize("arguments, message", [
    (["run", "native", "--workload", "mirror", "--service-time", "fixed:1ms"], "echo and rpc workloads"),
    (["run", "zmq", "--timeout", "1", "--service-time", "fixed:2s"], "would each wait out --timeout"),
    (["zmq", "broker", "--service-time", "fixed:1ms"], "--service-time does not apply to `reqrep zmq broker`"),
])
def test_service_times_that_do_not_fit_are_refused(arguments, message):
    done = reqrep(*arguments, env={"REQREP_AUTHKEY": "test-key"})
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr, done.stderr


@pytest.mark.parametrize("concurrency", ["processes", "asyncio"])
@pytest.mark.parametrize("transport, settings", [("zmq", {}), ("zmq", {"broker": "balancing"}), ("native", {}),
                                                 ("native", {"batch": True})],
                         ids=["zmq-proxy", "zmq-balancing", "native", "native-batch"])
def test_responders_take_the_service_time(transport, settings, concurrency):
    config = local_config(transport, requests=200, requesters=2, responders=2, concurrency=concurrency,
                          workload="rpc", service_time="fixed:2ms", **settings)
    result = run(config)
    assert (result.ok, result.failed) == (200, 0)
    assert result.latency_us["p50"] >= 2000  # every request waited its 2 ms, and was answered right


@pytest.mark.parametrize("transport, settings", [("zmq", {"broker": "balancing"}), ("native", {})],
                         ids=["zmq-balancing", "native"])
def test_asyncio_responders_wait_side_by_side(transport, settings):
    """Tasks that slept in the loop's thread would take their 50 ms one after the other: a second in all. Two
    that await their sleep answer two requests at a time."""
    config = local_config(transport, requests=20, requesters=2, responders=2, concurrency="asyncio",
                          service_time="fixed:50ms", **settings)
    result = run(config)
    assert (result.ok, result.failed) == (20, 0)
    assert result.seconds < 0.9, result.seconds  # one after the other: 20 x 50 ms = 1 s at least
