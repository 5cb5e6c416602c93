"""The balancing broker's bookkeeping of its responders, with no I/O, and the messages it drops; the protocol
is in balancing.py. zmq only: native responders pull from one queue, and a request is theirs once taken."""

from __future__ import annotations

import logging
import time

from shared.core.config import RunConfig
from zmq_impl.balancing import Frames, Pulse, Stall, name_of

log = logging.getLogger(__name__)
TICKS_PER_INTERVAL = 4  # how often the broker looks for silent responders and deadlines: a quarter beat
ABSENT_REMEMBERED = 1024  # proven responders lost to a silence, taken back as proven when they speak again
LOGGED_STRAYS = 10  # dropped messages logged one by one, then one in a thousand
Holding = tuple[Frames, float, bool]  # a request's envelope, its deadline, whether its responder is on trial


class Roster:
    """The broker's responders: who is known (the pulse of each), who is free, who holds which request until
    when, and who gets none.

    Only its answer to the request it holds, in that request's envelope, frees a responder. One holding a
    request past the run's timeout (when its requester sends it again) is overdue: it gets none until it
    answers that one or is silent past its liveness and speaks again. One that answered is proven and handed
    requests first, also back from a silence; the others are on trial, no more at once than there are proven
    ones (or one), so peers that never answer cost one request each, and only when no proven one was free.
    """

    def __init__(self, config: RunConfig) -> None:
        now = time.monotonic()
        self.interval, self.liveness = config.settings.heartbeat, config.settings.liveness
        self.timeout = config.timeout
        self.broker = config.role("broker")
        self.pulses: dict[bytes, Pulse] = {}
        self.proven: dict[bytes, None] = {}  # free, an ordered set: the least recently freed first
        self.untried: dict[bytes, None] = {}  # free, on trial
        self.trusted: set[bytes] = set()  # the proven, free or holding a request
        self.held: dict[bytes, Holding] = {}  # in the order handed, which is the order of their deadlines
        self.on_trial = 0  # requests held by responders on trial
        self.overdue: dict[bytes, Frames] = {}  # the envelope of the request each one kept past its deadline
        self.absent: dict[bytes, None] = {}  # proven ones lost to a silence: the oldest forgotten first
        self.strays = Strays(self.broker)
        self.stall = Stall(self.interval * self.liveness, now)
        self.next_tick = now  # the broker's loop calls `tick` from then on

    def heard(self, identity: bytes, now: float) -> bool:
        """A message from `identity`; True if it was not known (new, or dropped and back)."""
        pulse = self.pulses.get(identity)
        if pulse is not None:
            pulse.heard(now)
            return False
        self.pulses[identity] = Pulse(self.interval, self.liveness, now)
        return True

    def signal(self, identity: bytes, greeting: bool, now: float) -> None:
        """A READY or a heartbeat: one not known is free (these come between requests), on trial."""
        if not self.heard(identity, now):
            return
        if greeting:
            log.info("%s: %s is ready", self.broker, name_of(identity))
        else:
            log.warning("%s: %s is back", self.broker, name_of(identity))
        if identity in self.held:
            return
        if self.absent.pop(identity, False) is None:  # proven before its silence: a pause is no lie
            self.trusted.add(identity)
            self.proven[identity] = None
        else:
            self.untried[identity] = None

    def can_take(self) -> bool:
        """Whether `next_free` has a responder to give."""
        return bool(self.proven) or (bool(self.untried) and self.on_trial < max(1, len(self.trusted)))

    def next_free(self) -> bytes | None:
        """The proven responder free the longest, else one on trial if a trial is open, taken off; or None."""
        if not self.can_take():
            return None
        free = self.proven or self.untried
        identity = next(iter(free))
        del free[identity]
        return identity

    def hold(self, identity: bytes, envelope: Frames, now: float) -> None:
        """`identity` was sent the request of `envelope`: it holds it until it answers, or the deadline."""
        trial = identity not in self.trusted
        self.held[identity] = (envelope, now + self.timeout, trial)
        self.on_trial += trial
        self.sent(identity, now)

    def answered(self, identity: bytes, reply: Frames, now: float) -> bool:
        """Whether `reply` answers, in its envelope and one frame, the request `identity` holds (or kept past
        its deadline): then it goes to the requester, and `identity` is free again."""
        holding = self.held.get(identity)
        if holding is not None and reply[:-1] == holding[0]:
            del self.held[identity]
            self.on_trial -= holding[2]
        elif identity in self.overdue and reply[:-1] == self.overdue[identity]:
            del self.overdue[identity]
            log.warning("%s: %s answered past the deadline; requests go to it again", self.broker,
                        name_of(identity))
        else:
            return False
        self.trusted.add(identity)
        self.proven[identity] = None
        if self.heard(identity, now):
            log.warning("%s: %s is back", self.broker, name_of(identity))
        return True

    def sent(self, identity: bytes, now: float) -> None:
        pulse = self.pulses.get(identity)
        if pulse is not None:
            pulse.sent(now)

    def forget(self, identity: bytes, why: str) -> None:
        """Strike `identity` off (gone, or silent): a request it holds keeps its deadline."""
        if self.pulses.pop(identity, None) is not None:
            log.warning("%s: lost %s (%s); no request goes to it until it speaks again", self.broker,
                        name_of(identity), why)
        self.proven.pop(identity, None)
        self.untried.pop(identity, None)
        self.overdue.pop(identity, None)
        if identity in self.trusted and identity not in self.held:
            self.trusted.discard(identity)
            self.absent[identity] = None
            if len(self.absent) > ABSENT_REMEMBERED:
                del self.absent[next(iter(self.absent))]

    def expire(self, now: float) -> None:
        """Make overdue the responders that hold a request past its deadline: the first ones held."""
        held = self.held
        while held:
            identity = next(iter(held))
            envelope, deadline, trial = held[identity]
            if deadline > now:
                return
            del held[identity]
            self.on_trial -= trial
            self.trusted.discard(identity)
            if identity in self.pulses:  # one that is silent too was logged as lost already
                self.overdue[identity] = envelope
                log.warning("%s: %s kept a request past the %g s deadline; no request goes to it until it "
                            "answers that one", self.broker, name_of(identity), self.timeout)

    def tick(self, now: float) -> list[bytes]:
        """Drop the responders silent past their liveness or overdue; return those a heartbeat is due to."""
        self.next_tick = now + self.interval / TICKS_PER_INTERVAL
        if self.stall.away(now):  # the broker was stopped: what it missed is queued, not lost
            for pulse in self.pulses.values():
                pulse.heard(now)
            self.held = {identity: (envelope, now + self.timeout, trial)
                         for identity, (envelope, _, trial) in self.held.items()}
        self.expire(now)
        for identity, pulse in list(self.pulses.items()):
            if pulse.expired(now):
                self.forget(identity, f"silent for {pulse.silent(now):.1f} s")
        return [identity for identity, pulse in self.pulses.items() if pulse.beat_due(now)]

    def wait_ms(self, now: float) -> int:
        return max(0, int((self.next_tick - now) * 1000) + 1)


class Strays:
    """The messages the protocol has no place for: counted, the first few logged, then one in a thousand."""

    def __init__(self, broker: str) -> None:
        self.broker, self.seen = broker, 0

    def drop(self, what: str, sender: bytes) -> None:
        self.seen += 1
        if self.seen <= LOGGED_STRAYS or self.seen % 1000 == 0:
            log.warning("%s: dropped %s from %s (#%d)", self.broker, what, name_of(sender), self.seen)
