"""The load-balancing broker's protocol (`--broker balancing`), the zguide's answer to a responder that hangs
behind zmq.proxy, with the Paranoid Pirate's heartbeats: the messages, and the bookkeeping of each side with
no I/O. The broker's loop is in server.py, the responder's in responder.py (blocking) and tasks.py (asyncio).

zmq only: behind zmq.proxy the DEALER pushes every n-th request to each responder, hung or not, while native
responders pull from one shared queue, so there a request already goes only to a responder that is free.
Here responders say when they are free, and the broker hands a request to a free one only.

    responder -> broker   READY              free: send me a request (once connected)
                          HEARTBEAT          alive (after an interval in which it sent nothing else)
                          envelope, reply    the answer to the request it holds, in its envelope; free again
    broker -> responder   envelope, request  the one request it holds until it answers
                          HEARTBEAT          alive (after an interval in which it sent nothing else)

The envelope is what routed the request to the broker's front, up to and including the empty delimiter: a
request without one is dropped there, as a REP socket would drop it, since no reply could find its way back.
Any other message is dropped and counted (`Strays`).

A responder silent for `liveness` intervals is dropped from the ready list, and a request it held is sent
again by its requester (the Lazy Pirate), never by the broker. One that speaks again is taken back: a
heartbeat is only sent between requests, so it is free. A request held past the run's timeout, when its
requester sends it again, bars its responder until that one is answered (`Roster`). A broker silent as long
is logged as lost by its responders, and as back when they hear it again; libzmq reconnects meanwhile.
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
ABSENT_REMEMBERED = 1024  # proven responders lost to a silence, taken back as proven when they speak again
TICKS_PER_INTERVAL = 4  # how often the broker looks for silent responders: a loss is seen within a quarter beat
LOGGED_STRAYS = 10
Frames = list[bytes]
Holding = tuple[Frames, float, bool]  # a request's envelope, its deadline, whether its responder is on trial


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


def envelope_of(request: Frames) -> Frames | None:
    """A request's envelope as the broker's front received it: the requester's identity and any that routers
    on the way added, up to and including the empty delimiter; None if it has no delimiter."""
    try:
        return request[:request.index(b"", 1) + 1]
    except ValueError:
        return None


def name_of(identity: bytes) -> str:
    """A peer as the logs name it: its routing id if it is text (reqrep's responders name themselves), else
    the one libzmq made up, in hex."""
    text = identity.decode("utf-8", "replace")
    return text if text.isprintable() else f"peer {identity.hex()}"


class Roster:
    """The broker's responders: who is known (the pulse of each), who is free, who holds which request until
    when, and who gets none.

    A responder is freed only by its answer to the request it holds, in that request's envelope: a READY, a
    heartbeat or a reply to another client frees nobody. A request held past the deadline (the run's timeout,
    when its requester sends it again) makes its responder overdue: it gets no request until it answers that
    one, late (slow, not false), or goes silent past its liveness and speaks again, as a hung responder that
    was resumed does. A responder that answered is proven, and proven ones are handed requests first, also
    when they come back from a silence; the others (new, or back from a silence with a request unanswered)
    are on trial, no more of them at once than there are proven ones (one when there are none), so that peers
    which never answer cost only the requests that no proven responder was free for, one each.
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
        """A READY or a heartbeat: one that was not known is free (responders send them between requests
        only), on trial; to one that is known, it says only that it is alive."""
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
        """The proven responder free the longest, or else one on trial if a trial is open; taken off the
        free list. None if there is none."""
        free = self.proven
        if not free:
            if not self.untried or self.on_trial >= max(1, len(self.trusted)):
                return None
            free = self.untried
        identity = next(iter(free))
        del free[identity]
        return identity

    def hold(self, identity: bytes, envelope: Frames, now: float) -> None:
        """`identity` was sent a request that came in `envelope`: it holds it until it answers, or until the
        deadline."""
        trial = identity not in self.trusted
        self.held[identity] = (envelope, now + self.timeout, trial)
        self.on_trial += trial
        self.sent(identity, now)

    def answered(self, identity: bytes, reply: Frames, now: float) -> bool:
        """Whether `reply` answers the request `identity` holds (or kept past its deadline), in its envelope
        and in one frame: then it goes to the requester, and `identity` is free again."""
        holding = self.held.get(identity)
        if holding is not None and reply[:-1] == holding[0]:
            del self.held[identity]
            if holding[2]:
                self.on_trial -= 1
                self.trusted.add(identity)
            self.proven[identity] = None
        elif identity in self.overdue and reply[:-1] == self.overdue[identity]:
            del self.overdue[identity]
            log.warning("%s: %s answered past the deadline; requests go to it again", self.broker,
                        name_of(identity))
            self.trusted.add(identity)
            self.proven[identity] = None
        else:
            return False
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
        """Drop the responders silent past their liveness or holding a request past its deadline; return those
        a heartbeat is due to."""
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
    """The messages a broker drops because the protocol has no place for them (a request with no envelope
    to answer it in, a reply to a client its responder was not handed, a frame that is no signal): counted,
    the first few logged, then one in a thousand."""

    def __init__(self, broker: str) -> None:
        self.broker, self.seen = broker, 0

    def drop(self, what: str, sender: bytes) -> None:
        self.seen += 1
        if self.seen <= LOGGED_STRAYS or self.seen % 1000 == 0:
            log.warning("%s: dropped %s from %s (#%d)", self.broker, what, name_of(sender), self.seen)


class Duty:
    """A responder's side: a READY to start, the requests to answer (their envelopes kept), heartbeats when it
    has nothing else to say, and the broker's loss and return, logged. The blocking loop (responder.py) and
    the task (tasks.py) drive it alike."""

    def __init__(self, config: RunConfig, peer: Peer, reply_to: Callable[[bytes], bytes],
                 refuse: Callable[[Frames], bytes], bad: BadRequests) -> None:
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
        to the empty delimiter); None for a message with no envelope, which a REP socket would drop too (a
        balancing broker sends none: it drops them at its front)."""
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
