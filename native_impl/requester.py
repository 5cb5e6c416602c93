"""A requester: puts its share of the workload into the shared request queue in lockstep
(shared/core/lockstep.py), or with a window of requests in flight or a schedule (shared/core/pipeline.py);
every reply, from its own reply queue, is checked.

The Lazy Pirate's part that is the managers' own: a request without a reply is put again, and a late answer
to an earlier request, which waits in the reply queue, is skipped by its number.
"""

from __future__ import annotations

import queue
import secrets
import time
from multiprocessing.managers import RemoteError

from native_impl.blocking import Calls
from native_impl.codec import CODECS, framing, own_codec
from native_impl.connection import connect, disconnect, lost, remote_reason
from shared.core.channel import Stopped, complete
from shared.core.config import START_DEADLINE, RunConfig
from shared.core.lockstep import drive, lockstep
from shared.core.peers import Peer, notice_level
from shared.core.pipeline import pipeline
from shared.core.results import RequesterResult, Tally, shows_exchanges
from shared.core.wire import Codec
from shared.core.workload import (
    DECODE_REPLY,
    ENCODE_REQUEST,
    NO_REPLY,
    SERVER_REPLY,
    SERVER_REQUEST,
    Delivery,
    delivery_of,
    one_line,
    workload_for,
)


def reply_key() -> int:
    """A requester's reply key: random, so that concurrent runs never share replies, and an int, cheapest."""
    return secrets.randbits(62)


def peer_of(config: RunConfig, requester_id: int) -> Peer:
    """Whom a requester talks to: the server, whatever the example."""
    return Peer(config.role(f"requester {requester_id}"), config.role("server"), config.address,
                notice_level(requester_id))


def request(config: RunConfig, requester_id: int, start, progress) -> RequesterResult:
    """Send this requester's share once released by `start` (a barrier), in lockstep or not (`batch`)."""
    return complete(requesting(config, requester_id, start, progress, Calls()))


async def requesting(config: RunConfig, requester_id: int, start, progress, calls: Calls) -> RequesterResult:
    """`request` in any form: its manager calls made here, or on an asyncio task's thread (tasks.request)."""
    workload, codec = workload_for(config), own_codec(config.codec)
    tally = Tally(requester_id, config.share(requester_id), workload, codec, progress, peer=config.address,
                  show=shows_exchanges(config))
    try:
        peer = peer_of(config, requester_id)
        board = await calls.connect(config, peer)
        key = reply_key()
        requests, replies = await calls.proxy(board.requests), await calls.proxy(board.replies, key)
        calls.hold(replies)
        await calls.wait(start, START_DEADLINE + config.timeout)  # the others may still wait for the server
        began = time.perf_counter()
        kind = BatchChannel if config.settings.batch else QueueChannel
        channel = kind(config, key, board, requests, replies, calls)
        try:
            if config.lockstep and not config.settings.batch:
                await drive(lockstep(config, tally, framing(key)), channel)
            else:
                await pipeline(channel, config, tally, framing(key))
        except Stopped:
            tally.give_up("stopped while waiting for a reply")
        except (EOFError, ConnectionError) as error:
            tally.give_up(lost(peer, error))
        return tally.close(began, time.perf_counter())
    finally:
        calls.close()


class QueueChannel:
    """The stock use of managers: every put and every get is a round trip to the server; None from the queue
    is the server's stop. A reply missed in lockstep waits in the queue; the loop skips it by its number."""

    missed = queue.Empty

    def __init__(self, config: RunConfig, key: int, board, requests, replies, calls: Calls) -> None:
        self.timeout, self.call, self.put, self.get = config.timeout, calls.call, requests.put, replies.get

    async def send(self, message) -> None:
        await self.call(self.put, message)

    async def recv(self):
        reply = await self.call(self.get, True, self.timeout)
        if reply is None:
            raise Stopped()
        return reply

    async def renew(self) -> None:
        pass  # the same queues serve the next try

    async def flush(self) -> None:
        pass  # each put has reached the server already

    async def receive(self, timeout: float) -> list:
        try:
            item = await self.call(self.get, True, timeout)
        except queue.Empty:
            return []
        if item is None:
            raise Stopped()
        return [item]


class BatchChannel:
    """The tuned use, through the server's board: requests go in one call per burst, replies come many per
    call, so a window of W costs about 2 round trips, not 2W."""

    def __init__(self, config: RunConfig, key: int, board, requests, replies, calls: Calls) -> None:
        self.key, self.board, self.most, self.call = key, board, config.window, calls.call
        self.pending: list = []

    async def send(self, message) -> None:
        self.pending.append(message)

    async def flush(self) -> None:
        if self.pending:  # the requests that the last replies made room for, in one call
            await self.call(self.board.put_requests, self.pending)
            self.pending = []

    async def receive(self, timeout: float) -> list:
        try:
            replies = await self.call(self.board.take_replies, self.key, self.most, timeout)
        except queue.Empty:
            return []
        if replies[-1] is None:
            raise Stopped()
        return replies


def deliver(config: RunConfig, values: list) -> list[Delivery]:
    """Send each value to a mirror responder and say what came back, or where it failed. A value that fails
    does not stop the others; a late reply to an earlier value is recognised by its number and skipped."""
    codec = CODECS[config.codec]
    board = connect(config, peer_of(config, 0))
    key = reply_key()
    requests, replies = board.requests(), board.replies(key)
    try:
        return [delivery(requests, replies, (key, n, value), codec, config.timeout) for n, value in enumerate(values)]
    finally:
        disconnect(replies, requests, board)


def delivery(requests, replies, item: tuple, codec: Codec, timeout: float) -> Delivery:
    """What came back for one request (key, n, value): its reply, or the stage where it failed."""
    key, n, value = item
    try:
        requests.put((key, n, codec.encode(value)))  # pickled here, before anything is sent
    except (EOFError, ConnectionError):
        raise
    except RemoteError as error:  # the server could not unpickle it
        return Delivery(stage=SERVER_REQUEST, error=remote_reason(error))
    except Exception as error:  # RecursionError too
        return Delivery(stage=ENCODE_REQUEST, error=one_line(error))
    deadline = time.monotonic() + timeout
    while True:
        try:
            item = replies.get(True, max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            return Delivery(stage=NO_REPLY, error=f"no reply within {timeout:g} s")
        except (EOFError, ConnectionError):
            raise
        except RemoteError as error:  # the server could not pickle it for us
            return Delivery(stage=SERVER_REPLY, error=remote_reason(error))
        except Exception as error:
            return Delivery(stage=DECODE_REPLY, error=one_line(error))
        if item is None:
            return Delivery(stage=NO_REPLY, error="the server stopped")
        if item[0] == n:
            break
    try:
        reply = codec.decode(item[1])
    except Exception as error:
        return Delivery(stage=DECODE_REPLY, error=one_line(error))
    return delivery_of(reply)
