"""A requester: puts its share of the workload into the shared request queue in lockstep (shared/core/lockstep.py),
or with a window of requests in flight or on a schedule (shared/core/pipeline.py), and checks every reply that
comes back in its own reply queue.

The Lazy Pirate's part that is the managers' own: a request without a reply is put again, and a late answer
to an earlier request, which waits in the queue, is skipped by its number.
"""

from __future__ import annotations

import queue
import secrets
import time
from multiprocessing.managers import RemoteError

from native_impl.codec import CODECS, framing, own_codec
from native_impl.connection import connect, disconnect, hold, lost, remote_reason
from shared.core.config import START_DEADLINE, RunConfig
from shared.core.lockstep import Exchange, lockstep
from shared.core.peers import Peer, notice_level
from shared.core.pipeline import Stopped, pipeline
from shared.core.results import RequesterResult, Tally, shows_exchanges
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
    """A requester's reply key: random, so that concurrent runs never share replies (62 bits), and an int,
    the cheapest key to carry in every request and to look up on the server."""
    return secrets.randbits(62)


def peer_of(config: RunConfig, requester_id: int) -> Peer:
    """Whom a requester talks to: the server, whatever the example."""
    return Peer(config.role(f"requester {requester_id}"), config.role("server"), config.address,
                notice_level(requester_id))


def request(config: RunConfig, requester_id: int, start, progress) -> RequesterResult:
    """Send this requester's share once released by `start` (a barrier): in lockstep, one put and one get
    per request, or with a window of requests in flight or on a schedule, item by item or (`batch`) many
    items per manager call."""
    workload, codec = workload_for(config), own_codec(config.codec)
    tally = Tally(requester_id, config.share(requester_id), workload, codec, progress, peer=config.address,
                  show=shows_exchanges(config))
    peer = peer_of(config, requester_id)
    board = connect(config, peer)
    key = reply_key()
    requests, replies = board.requests(), board.replies(key)
    hold(replies)
    try:
        start.wait(START_DEADLINE + config.timeout)  # the others may still be waiting for the server
        began = time.perf_counter()
        try:
            if config.lockstep and not config.settings.batch:
                drive(lockstep(config, tally, framing(key)), requests.put, replies.get, config)
            else:
                channel = (BatchChannel if config.settings.batch else QueueChannel)(config, key, board, requests,
                                                                                    replies)
                pipeline(channel, config, tally, framing(key))
        except Stopped:
            tally.give_up("stopped while waiting for a reply")
        except (EOFError, ConnectionError) as error:
            tally.give_up(lost(peer, error))
        return tally.close(began, time.perf_counter())
    finally:
        disconnect(replies, requests, board)


def drive(exchange: Exchange, put, get, config: RunConfig) -> None:
    """Put what the lockstep loop yields and hand it each reply, until it ends. None from the queue is the
    server's stop. Closes the loop on the way out, whatever ends it."""
    timeout = config.timeout
    try:
        message = next(exchange)
        while True:
            if message is not None:  # None: wait for another reply without putting the request again
                put(message)
            try:
                reply = get(True, timeout)
                if reply is None:
                    raise Stopped()
            except queue.Empty:
                reply = None
            try:
                message = exchange.send(reply)
            except StopIteration:
                return
    finally:
        exchange.close()


class QueueChannel:
    """The stock use of managers: every put and every get is a round trip to the server."""

    def __init__(self, config: RunConfig, key: int, board, requests, replies) -> None:
        self.put, self.get = requests.put, replies.get

    def send(self, message) -> None:
        self.put(message)

    def flush(self) -> None:
        pass  # each put has reached the server already

    def receive(self, timeout: float) -> list:
        try:
            item = self.get(True, timeout)
        except queue.Empty:
            return []
        if item is None:
            raise Stopped()
        return [item]


class BatchChannel:
    """The tuned use: requests go in one call per burst, replies come back many per call, through methods
    of the server's own board (a registered object), so a window of W costs about 2 round trips, not 2W."""

    def __init__(self, config: RunConfig, key: int, board, requests, replies) -> None:
        self.key, self.board, self.most = key, board, config.window
        self.pending: list = []

    def send(self, message) -> None:
        self.pending.append(message)

    def flush(self) -> None:
        if self.pending:  # the requests that the last replies made room for, in one call
            self.board.put_requests(self.pending)
            self.pending = []

    def receive(self, timeout: float) -> list:
        try:
            replies = self.board.take_replies(self.key, self.most, timeout)
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
    deliveries = []
    try:
        for n, value in enumerate(values):
            try:
                requests.put((key, n, codec.encode(value)))  # pickled here, before anything is sent
            except (EOFError, ConnectionError):
                raise
            except RemoteError as error:  # the server could not unpickle it
                deliveries.append(Delivery(stage=SERVER_REQUEST, error=remote_reason(error)))
                continue
            except Exception as error:  # RecursionError too
                deliveries.append(Delivery(stage=ENCODE_REQUEST, error=one_line(error)))
                continue
            deliveries.append(await_delivery(replies, n, codec, config.timeout))
        return deliveries
    finally:
        disconnect(replies, requests, board)


def await_delivery(replies, n: int, codec, timeout: float) -> Delivery:
    """What came back for value n: its reply, or the stage where it failed."""
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
