"""The load-balancing broker's protocol (`--broker balancing`), the zguide's answer to a responder that hangs
behind zmq.proxy, with the Paranoid Pirate's heartbeats: the messages, and the bookkeeping of each side with
no I/O. The broker's loop is in server.py, the responder's in responder.py (blocking) and tasks.py (asyncio).

zmq only: behind zmq.proxy the DEALER pushes every n-th request to each responder, hung or not, while native
responders pull from one shared queue, so there a request already goes only to a responder that is free.
Here responders say when they are free, and the broker hands a request to a free one only.

    responder -> broker   READY              free: send me a request (once connected)
                          HEARTBEAT          alive (after an interval in which it sent nothing else)
                          envelope, reply    the answer, and free again
    broker -> responder   envelope, request  the one request it holds until it answers
                          HEARTBEAT          alive (after an interval in which it sent that responder nothing)

A responder silent for `liveness` intervals is dropped from the ready list, and a request it held is sent
again by its requester (the Lazy Pirate), never by the broker. One that speaks again is taken back: a
heartbeat is only sent between requests, so it is free. A broker silent as long is logged as lost by its
responders, and as back when they hear it again; libzmq reconnects meanwhile.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from shared.config import RunConfig
from shared.transport import Peer
from shared.workload import DECODE_REQUEST, BadRequests

log = logging.getLogger(__name__)
READY, HEARTBEAT = b"\x01", b"\x02"  # the zguide's Paranoid Pirate frames
TICKS_PER_INTERVAL = 4  # how often the broker looks for silent responders: a loss is seen within a quarter beat
Frames = list[bytes]


class Pulse:
    """One side's view of its peer's heartbeats: whether a heartbeat is due (this side has sent nothing for an
    interval) and whether the peer is lost (nothing heard for `liveness` intervals)."""

    def __init__(self, interval: float, liveness: int, now: float) -> None:
        self.interval, self.window = interval, interval * liveness
        self.last_heard = self.last_sent = now
        self.lost = False

    def heard(self, now: float) -> bool:
        """Anything from the peer; True if it had been lost (it is back)."""
        self.last_heard = now
        back, self.lost = self.lost, False
        return back

    def sent(self, now: float) -> None:
        self.last_sent = now

    def beat_due(self, now: float) -> bool:
        return now - self.last_sent >= self.interval

    def silent(self, now: float) -> float:
        return now - self.last_heard

    def expired(self, now: float) -> bool:
        """True once, when the peer has been silent past its liveness."""
        if self.lost or self.silent(now) <= self.window:
            return False
        self.lost = True
        return True


class Stall:
    """Whether this side itself was away (stopped, swapped out) for longer than a liveness window: then the
    silence it sees is its own, and it must not blame its peers for it."""

    def __init__(self, window: float, now: float) -> None:
        self.window, self.last = window, now

    def away(self, now: float) -> bool:
        away, self.last = now - self.last > self.window, now
        return away


def name_of(identity: bytes) -> str:
    return identity.decode("utf-8", "backslashreplace")


class Roster:
    """The broker's responders: who is known, who is free (the least recently freed first, as the zguide's
    broker), and the pulse of each."""

    def __init__(self, config: RunConfig) -> None:
        now = time.monotonic()
        self.interval, self.liveness = config.settings.heartbeat, config.settings.liveness
        self.broker = config.role("broker")
        self.pulses: dict[bytes, Pulse] = {}
        self.free: dict[bytes, None] = {}  # an ordered set
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

    def take_back(self, identity: bytes, greeting: bool) -> None:
        if greeting:
            log.info("%s: %s is ready", self.broker, name_of(identity))
        else:
            log.warning("%s: %s is back", self.broker, name_of(identity))

    def release(self, identity: bytes) -> None:
        """`identity` is free: it takes its place at the end of the ready list."""
        self.free[identity] = None

    def next_free(self) -> bytes | None:
        """The responder free the longest, taken off the ready list; None if none is free."""
        if not self.free:
            return None
        identity = next(iter(self.free))
        del self.free[identity]
        return identity

    def sent(self, identity: bytes, now: float) -> None:
        pulse = self.pulses.get(identity)
        if pulse is not None:
            pulse.sent(now)

    def forget(self, identity: bytes, why: str) -> None:
        if self.pulses.pop(identity, None) is not None:
            log.warning("%s: lost %s (%s); no request goes to it until it speaks again", self.broker,
                        name_of(identity), why)
        self.free.pop(identity, None)

    def tick(self, now: float) -> list[bytes]:
        """Drop the responders silent past their liveness; return those a heartbeat is due to."""
        self.next_tick = now + self.interval / TICKS_PER_INTERVAL
        if self.stall.away(now):  # the broker was stopped: what it missed is queued, not lost
            for pulse in self.pulses.values():
                pulse.heard(now)
        for identity, pulse in list(self.pulses.items()):
            if pulse.expired(now):
                self.forget(identity, f"silent for {pulse.silent(now):.1f} s")
        return [identity for identity, pulse in self.pulses.items() if pulse.beat_due(now)]

    def wait_ms(self, now: float) -> int:
        return max(0, int((self.next_tick - now) * 1000) + 1)


class Duty:
    """A responder's side: a READY to start, the requests to answer (their envelopes kept), heartbeats when it
    has nothing else to say, and the broker's loss and return, logged. The blocking loop (responder.py) and
    the task (tasks.py) drive it alike."""

    def __init__(self, config: RunConfig, peer: Peer, reply_to: Callable[[bytes], bytes],
                 refuse: Callable[[bytes, list], bytes], bad: BadRequests) -> None:
        now = time.monotonic()
        settings = config.settings
        self.peer, self.reply_to, self.refuse, self.bad = peer, reply_to, refuse, bad
        self.pulse = Pulse(settings.heartbeat, settings.liveness, now)
        self.stall = Stall(self.pulse.window, now)
        self.greeted = False  # whether the broker was ever heard: if not, it may not be a balancing one

    def hello(self) -> Frames:
        self.pulse.sent(time.monotonic())
        return [READY]

    def heard(self, frames: Frames) -> Frames | None:
        """A message from the broker: the request (envelope and body) to answer, or None (a heartbeat)."""
        if self.pulse.heard(time.monotonic()):
            self.peer.say("heard again from")
        self.greeted = True
        return frames if len(frames) > 1 else None

    def answer(self, frames: Frames) -> Frames | None:
        """The reply to a request, in its envelope (what the broker and the requesters' routers prepended, up
        to the empty delimiter); None for a message with no envelope, which a REP socket would drop too."""
        try:
            split = frames.index(b"")
        except ValueError:
            self.bad.count(DECODE_REQUEST, "dropped a message with no envelope")
            return None
        envelope, body = frames[:split + 1], frames[split + 1:]
        if len(body) == 1:
            reply = self.reply_to(body[0])
        else:
            reply = self.refuse(body[0] if body else b"", body[1:])
        self.pulse.sent(time.monotonic())
        return [*envelope, reply]

    def due(self) -> Frames | None:
        """A heartbeat to send now, if one is due; says so once when the broker went silent."""
        now = time.monotonic()
        if self.stall.away(now):  # this responder was stopped: the broker's heartbeats are queued, not missing
            self.pulse.heard(now)
        if self.pulse.expired(now):
            hint = "" if self.greeted else " (is it a balancing broker? start it with --broker balancing)"
            self.peer.say("lost", f": silent for {self.pulse.silent(now):.1f} s{hint}; waiting for it to speak again")
        if not self.pulse.beat_due(now):
            return None
        self.pulse.sent(now)
        return [HEARTBEAT]

    def wait_ms(self) -> int:
        """How long to wait for the broker before `due` has something to do."""
        pulse, now = self.pulse, time.monotonic()
        until = pulse.last_sent + pulse.interval
        if not pulse.lost:
            until = min(until, pulse.last_heard + pulse.window)
        return max(0, int((until - now) * 1000) + 1)
