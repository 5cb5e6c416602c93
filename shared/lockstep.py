"""The seed's loop, once for both transports and both styles of code: one request at a time, the next sent
when the reply to the last one came, every reply checked, and the Lazy Pirate's way out of a missing or
stray reply (send again, up to `retries` times, then presume the server down).

`lockstep` is a generator with no I/O of its own. It yields each message to send; the transport's loop sends
it, waits up to the timeout for one reply and sends back what came, or None if nothing did. It yields None
instead of a message when it wants another reply without sending (a transport whose Framing `listens`).
The blocking requester and the asyncio task of each transport drive it alike, with `send` or `await send`.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from typing import Any

from shared.config import RunConfig
from shared.results import Tally, no_reply
from shared.transport import Framing

Exchange = Generator[Any, Any, None]


def lockstep(config: RunConfig, tally: Tally, framing: Framing) -> Exchange:
    """The requests of `tally`'s plan, one at a time; each reply recorded in `tally`."""
    make, encode, record, requester_id = tally.workload.request, tally.codec.encode, tally.record, tally.requester_id
    tag_of, join, answers, body = framing.tag, framing.join, framing.answers, framing.body
    clock = time.perf_counter_ns if config.record_latency else int  # int() is 0: recording off, for its cost
    for n in range(tally.result.planned):
        request = make(requester_id, n)
        tag = tag_of(n)
        message = join(tag, encode(request))
        sent = clock()
        reply = yield message
        if reply is None or not answers(reply, tag):
            reply = yield from recover(config, framing, tally, message, tag, reply)
            if reply is None:
                tally.give_up(no_reply(config))
                return
        record(n, clock() - sent, request, body(reply))


def recover(config: RunConfig, framing: Framing, tally: Tally, message: Any, tag: Any, reply: Any) -> Exchange:
    """Off the hot path: no reply within the timeout, or one that answers another request (a late answer to
    a request sent again, counted and dropped: the caller sees each reply once). Returns the reply to
    `message`, or None once it went unanswered `retries` more times."""
    tries, deadline = 1, time.monotonic() + config.timeout
    while True:
        if reply is not None:
            if framing.answers(reply, tag):
                return reply
            tally.duplicate()
            if framing.listens and time.monotonic() < deadline:
                reply = yield None  # the reply may still come: wait for it, without sending again
                continue
        if tries > config.retries:
            return None
        tries += 1
        tally.retry()
        deadline = time.monotonic() + config.timeout
        reply = yield message
