"""Uneven service times (`--service-time`): how long a responder sleeps before it handles each request, so
that push and pull dispatch differ where they differ most, in a request queued behind a slow one.

    fixed:2ms       every request takes 2 ms
    exp:1ms         exponentially distributed, with a mean of 1 ms
    slow:1%:50ms    1% of the requests take 50 ms, the others no time at all
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass

from shared.core.errors import UsageError

UNITS = {"us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0}
KINDS = ("fixed", "exp", "slow")
LONGEST = 60.0  # seconds: a handler that takes longer is not a service time but a hung responder
_DURATION = r"(?P<amount>\d+(?:\.\d+)?)(?P<unit>us|µs|ms|s)"
_SPEC = re.compile(rf"^(?P<kind>[a-z]+):(?:(?P<share>\d+(?:\.\d+)?)%:)?{_DURATION}$")
FORMS = "fixed:DURATION, exp:MEAN or slow:PERCENT%:DURATION, a duration in us, ms or s (for example exp:1ms)"


@dataclass(frozen=True)
class ServiceTime:
    kind: str  # fixed, exp or slow
    seconds: float  # fixed: every request's; exp: the mean; slow: a slow request's
    share: float = 1.0  # slow: the share of requests that are slow

    def sampler(self, rng: random.Random) -> Callable[[], float]:
        seconds, share = self.seconds, self.share
        if self.kind == "fixed":
            return lambda: seconds
        if self.kind == "exp":
            rate = 1 / seconds
            return lambda: rng.expovariate(rate)
        return lambda: seconds if rng.random() < share else 0.0


def parse_service_time(text: str) -> ServiceTime:
    """The service time `text` describes, or a UsageError saying what it is not."""
    match = _SPEC.match(text.strip())
    if not match or match["kind"] not in KINDS or (match["share"] is not None) != (match["kind"] == "slow"):
        raise UsageError(f"--service-time {text!r} is not a service time: {FORMS}")
    seconds = float(match["amount"]) * UNITS[match["unit"]]
    if not 0 < seconds <= LONGEST:
        raise UsageError(f"--service-time {text!r}: a duration is more than 0 and at most {LONGEST:g} s")
    if match["share"] is None:
        return ServiceTime(match["kind"], seconds)
    share = float(match["share"]) / 100
    if not 0 < share <= 1:
        raise UsageError(f"--service-time {text!r}: the share of slow requests is more than 0% and at most 100%")
    return ServiceTime("slow", seconds, share)


def service_delay(config) -> Callable[[], float] | None:
    """A responder's draw of each request's service time; None without one, so that the loop skips the wait."""
    if not config.service_time:
        return None
    return parse_service_time(config.service_time).sampler(random.Random())
