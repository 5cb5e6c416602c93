"""The seed's loop, once for both transports and both styles of code: one request at a time, the next sent
when the reply to the last one came, every reply checked, and the Lazy Pirate's way out of a missing or
stray reply (send again, up to `retries` times, then presume the server down).

`lockstep` is a generator with no I/O of its own. It yields each message to send; the transport's loop sends
it, waits up to the timeout for one reply and sends back what came, or None if nothing did. It yields None
instead of a message when it wants another reply without sending (a transport whose Framing `listens`).
`drive` is that loop, once for every transport and both styles of code, over a `LockstepChannel`
(shared/core/channel.py); it closes the generator when it stops, early or not, which settles the tally's
count of answered requests.

The hot path is one comparison per reply: the reply message against the one a right answer makes (the
request's tag and the handler's answer, encoded as a responder encodes it). That one test covers the
number and the value; anything else (no reply, a late one, another encoding of the same value, a wrong one)
goes the slow way.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from typing import Any

from shared.core.channel import LockstepChannel, awaits
from shared.core.config import RunConfig
from shared.core.latency import BASES, SHIFTS
from shared.core.results import PROGRESS_EVERY, Tally, no_reply
from shared.core.wire import Framing

Exchange = Generator[Any, Any, None]


def lockstep(config: RunConfig, tally: Tally, framing: Framing) -> Exchange:
    """The requests of `tally`'s plan, one at a time; each reply checked, and its latency recorded, in `tally`."""
    make, encode, handle, requester_id = tally.workload.request, tally.encode, tally.expected, tally.requester_id
    tag_of, join, expect = framing.tag, framing.join, framing.expect
    counts, bases, shifts, progress, slot = tally.latency.counts, BASES, SHIFTS, tally.progress, tally.slot
    timed, show = config.record_latency, tally.show
    clock = time.perf_counter_ns if timed else int  # int() is 0: recording off, to measure what it costs
    answered = 0
    try:
        for n in range(tally.result.planned):
            request = make(requester_id, n)
            tag = tag_of(n)
            message = join(tag, encode(request))
            expected = expect(tag, encode(handle(request)))
            sent = clock()
            reply = yield message
            try:
                right = reply == expected
            except ValueError:  # values whose == is no truth (NumPy arrays): the slow path compares them
                right = False
            if not right:
                if reply is None or not framing.answers(reply, tag):
                    reply = yield from recover(config, framing, tally, message, tag, reply, answered)
                    if reply is None:
                        return
                if differs(reply, expected):
                    tally.check(n, request, framing.body(reply), answered)
            if timed:  # latency.bucket(ns), inline: a Python call less per request
                ns = clock() - sent
                bits = ns.bit_length()
                counts[bases[bits] + (ns >> shifts[bits])] += 1
            answered = n + 1
            if show:  # the hello example prints its exchanges, as the seed's does
                tally.shown(request, framing.body(reply))
            if not n & PROGRESS_EVERY:  # the first reply, then one in 64: the bar reads 10 times a second
                progress[slot] = answered
    finally:
        tally.answered = answered


async def drive(exchange: Exchange, channel: LockstepChannel) -> None:
    """Send what `exchange` yields through `channel` and hand it each reply, None where none came in time,
    until it ends; close it then."""
    missed, asynchronous, step = channel.missed, awaits(channel), exchange.send
    send, recv = channel.send, channel.recv
    try:
        message = next(exchange)
        while True:
            try:
                if message is not None:  # None: wait for another reply without sending again
                    await send(message) if asynchronous else send(message)
                reply = await recv() if asynchronous else recv()
            except missed:
                reply = None
                await channel.renew()
                send, recv = channel.send, channel.recv  # `renew` may have replaced them
            try:
                following = step(reply)
            except StopIteration:
                return
            if following is message and reply is not None:  # sent again after a stray reply:
                await channel.renew()  # on a REQ socket, the answers to both sends would come, a stray each
                send, recv = channel.send, channel.recv
            message = following
    finally:
        exchange.close()


def differs(reply: Any, expected: Any) -> bool:
    """Whether a reply is not, as encoded, the expected one (a value whose == is no truth: it may be)."""
    try:
        return bool(reply != expected)
    except ValueError:
        return True


def recover(config: RunConfig, framing: Framing, tally: Tally, message: Any, tag: Any, reply: Any,
            seen: int) -> Exchange:
    """Off the hot path: no reply within the timeout, or one that answers another request (a late answer to
    a request sent again, or a peer's duplicate: counted and dropped, the caller sees each reply once).
    A stray reply costs no try: the requester waits on for the right one until this try's deadline, and
    one that may not wait without sending (a REQ socket) sends again at once, a resend its transport makes
    on a new socket. Returns the reply to `message`, or None (the tally told why) once it went unanswered
    `retries` more times."""
    tries, deadline, strays = 1, time.monotonic() + config.timeout, 0
    while True:
        if reply is not None:
            if framing.answers(reply, tag):
                return reply
            tally.stray(seen)
            strays += 1
            if time.monotonic() < deadline:
                reply = yield None if framing.listens else message
                continue
        if tries > config.retries:
            tally.answered = seen
            tally.give_up(no_reply(config, strays))
            return None
        tries += 1
        tally.retry()
        deadline = time.monotonic() + config.timeout
        reply = yield message
