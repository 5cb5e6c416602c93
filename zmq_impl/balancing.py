"""The load-balancing broker's protocol (`--broker balancing`) with the Paranoid Pirate's heartbeats, with no
I/O: the messages, the pulse of a peer, a responder's side. The broker's bookkeeping is in roster.py.

zmq only: zmq.proxy's DEALER pushes every n-th request to each responder, hung or not; native responders pull
from one queue, so a request goes only to a free one already. Here responders say when they are free.

    responder -> broker   READY              free: send me a request (once connected)
                          HEARTBEAT          alive (after an interval in which it sent nothing else)
                          envelope, reply    the answer to the request it holds, in its envelope; free again
    broker -> responder   envelope, request  the one request it holds until it answers
                          HEARTBEAT          alive (after an interval in which it sent nothing else)

The envelope is what routed the request to the broker's front, up to the empty delimiter: a request without
one is dropped, as a REP socket drops it, and so is any other stray message. A responder silent for
`liveness` intervals is dropped, and its requester sends its request again (the Lazy Pirate); one that speaks
again is free (heartbeats go between requests only). A broker silent as long is logged as lost.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from shared.core.config import RunConfig
from shared.core.peers import Peer
from shared.core.workload import DECODE_REQUEST, BadRequests

READY, HEARTBEAT = b"\x01", b"\x02"  # the zguide's Paranoid Pirate frames
Frames = list[bytes]


class Pulse:
    """One side's view of its peer: whether a heartbeat is due (nothing sent for an interval) and whether the
    peer is lost (nothing heard for `liveness` intervals)."""

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
    """Whether this side was away itself (stopped) past a liveness window: the silence it sees is its own."""

    def __init__(self, window: float, now: float) -> None:
        self.window, self.last = window, now

    def away(self, now: float) -> bool:
        away, self.last = now - self.last > self.window, now
        return away


def envelope_of(request: Frames) -> Frames | None:
    """A request's envelope at the broker's front, up to and including the empty delimiter, or None."""
    try:
        return request[:request.index(b"", 1) + 1]
    except ValueError:
        return None


def name_of(identity: bytes) -> str:
    """A peer as the logs name it: its routing id if text (our responders name themselves), else in hex."""
    text = identity.decode("utf-8", "replace")
    return text if text.isprintable() else f"peer {identity.hex()}"


class Duty:
    """A responder's side: a READY, requests answered in their envelopes, heartbeats, the broker's loss."""

    def __init__(self, config: RunConfig, peer: Peer, reply_to: Callable[[bytes], bytes],
                 refuse: Callable[[Frames], bytes], bad: BadRequests) -> None:
        now = time.monotonic()
        self.peer, self.reply_to, self.refuse, self.bad = peer, reply_to, refuse, bad
        self.pulse = Pulse(config.settings.heartbeat, config.settings.liveness, now)
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
        """The reply to a request, in its envelope; None for one without, which a REP socket drops too."""
        try:
            split = frames.index(b"")
        except ValueError:
            self.bad.count(DECODE_REQUEST, "dropped a message with no envelope")
            return None
        envelope, body = frames[:split + 1], frames[split + 1:]
        reply = self.reply_to(body[0]) if len(body) == 1 else self.refuse(body)
        self.pulse.sent(time.monotonic())
        return [*envelope, reply]

    def due(self) -> Frames | None:
        """A heartbeat to send now, if one is due; says so once when the broker went silent."""
        now = time.monotonic()
        if self.stall.away(now):  # this responder was stopped: the heartbeats are queued
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
