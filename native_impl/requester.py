"""A requester: puts its share of the workload into the shared request queue, in lockstep or with a window
of requests in flight (through shared/pipeline.py), and checks every reply that comes back in its own
reply queue."""

from __future__ import annotations

import queue
import time
from multiprocessing.managers import RemoteError

from native_impl.codec import CODECS
from native_impl.server import connect, disconnect, hold, remote_reason, reply_key
from shared.config import START_DEADLINE, RunConfig
from shared.pipeline import Stopped, pipeline
from shared.results import RequesterResult, Tally, no_reply
from shared.roles import notice_level
from shared.workload import (
    DECODE_REPLY,
    ENCODE_REQUEST,
    NO_REPLY,
    SERVER_REPLY,
    SERVER_REQUEST,
    Delivery,
    delivery_of,
    describe,
    workload_for,
)


def request(config: RunConfig, requester_id: int, start, progress) -> RequesterResult:
    """Send this requester's share once released by `start` (a barrier): in lockstep, one put and one get
    per request, or with a window of requests in flight or on a schedule, item by item or (`batch`) many
    items per manager call."""
    workload, codec = workload_for(config), CODECS[config.codec]
    tally = Tally(requester_id, config.share(requester_id), workload, codec, progress)
    board = connect(config, f"native requester {requester_id}", notice_level(requester_id))
    key = reply_key()
    requests, replies = board.requests(), board.replies(key)
    hold(replies)
    try:
        start.wait(START_DEADLINE + config.timeout)  # the others may still be waiting for the server
        began = time.perf_counter()
        try:
            if config.lockstep and not config.batch:
                lockstep(config, requester_id, workload, codec, tally, key, requests, replies)
            else:
                channel = (BatchChannel if config.batch else QueueChannel)(config, codec, key, board, requests, replies)
                pipeline(channel, config, requester_id, workload, tally)
        except Stopped:
            tally.give_up("stopped while waiting for a reply")
        except (EOFError, ConnectionError) as error:
            tally.give_up(f"lost the native server at {config.address}: {error!r}")
        return tally.close(began, time.perf_counter())
    finally:
        disconnect(replies, requests, board)


def lockstep(config: RunConfig, requester_id: int, workload, codec, tally: Tally, key: int, requests,
             replies) -> None:
    """One request at a time: put it, get its reply; put it again after the timeout."""
    make, encode, put, get = workload.request, codec.encode, requests.put, replies.get
    timeout = config.timeout
    clock = time.perf_counter_ns if config.record_latency else int  # int() is 0: recording off, for its cost
    for n in range(tally.result.planned):
        req = make(requester_id, n)
        item = (key, n, encode(req))
        sent = clock()
        put(item)
        try:
            reply = get(True, timeout)
            if reply is None or reply[0] != n:  # stopped, or a late answer to an earlier request
                reply = await_reply(get, n, timeout, tally, reply)
        except queue.Empty:
            reply = resend(config, put, get, item, tally)
            if reply is None:
                tally.give_up(no_reply(config))
                return
        tally.record(n, clock() - sent, req, reply[1])


def resend(config: RunConfig, put, get, item: tuple, tally: Tally):
    """Off the hot path, as the zmq requester's: put the request again, up to `retries` times, and return
    its reply, or None if none came."""
    for _ in range(config.retries):
        tally.retry()
        put(item)
        try:
            return await_reply(get, item[1], config.timeout, tally, get(True, config.timeout))
        except queue.Empty:
            continue
    return None


def await_reply(get, n: int, timeout: float, tally: Tally, item):
    """The reply to request n, given the `item` that came first; queue.Empty after `timeout` seconds more.
    Replies carry their request's number: one for an earlier request (a late or second answer to a request
    sent again) is counted and dropped. The deadline counts from the first item, so that the hot path, where
    it is the reply, has no clock to read: a stray reply can lengthen the wait by up to one timeout."""
    deadline = time.monotonic() + timeout
    while True:
        if item is None:
            raise Stopped()
        if item[0] == n:
            return item
        tally.duplicate()
        item = get(True, max(0.0, deadline - time.monotonic()))


class QueueChannel:
    """The stock use of managers: every put and every get is a round trip to the server."""

    def __init__(self, config: RunConfig, codec, key: int, board, requests, replies) -> None:
        self.encode, self.key = codec.encode, key
        self.put, self.get = requests.put, replies.get

    def send(self, n: int, request) -> None:
        self.put((self.key, n, self.encode(request)))

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

    def __init__(self, config: RunConfig, codec, key: int, board, requests, replies) -> None:
        self.encode, self.key, self.board, self.most = codec.encode, key, board, max(config.window, 1)
        self.pending: list = []

    def send(self, n: int, request) -> None:
        self.pending.append((self.key, n, self.encode(request)))

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


def exchange(config: RunConfig, requests: list) -> list:
    """Send each value as a request, in order, and return the decoded replies: the parity tests' way of
    seeing exactly what comes back. A reply that does not come within the timeout raises TimeoutError."""
    codec = CODECS[config.codec]
    board = connect(config)
    key = reply_key()
    requests_queue, replies = board.requests(), board.replies(key)
    try:
        answers = []
        for n, value in enumerate(requests):
            requests_queue.put((key, n, codec.encode(value)))
            try:
                answers.append(codec.decode(replies.get(True, config.timeout)[1]))
            except queue.Empty:
                raise TimeoutError(f"no reply within {config.timeout:g} s from {config.address}") from None
        return answers
    finally:
        disconnect(replies, requests_queue, board)


def deliver(config: RunConfig, values: list) -> list[Delivery]:
    """Send each value to a mirror responder and say what came back, or where it failed. A value that fails
    does not stop the others; a late reply to an earlier value is recognised by its number and skipped."""
    codec = CODECS[config.codec]
    board = connect(config)
    key = reply_key()
    requests_queue, replies = board.requests(), board.replies(key)
    deliveries = []
    try:
        for n, value in enumerate(values):
            try:
                requests_queue.put((key, n, codec.encode(value)))  # pickled here, before anything is sent
            except (EOFError, ConnectionError):
                raise
            except RemoteError as error:  # the server could not unpickle it
                deliveries.append(Delivery(stage=SERVER_REQUEST, error=remote_reason(error)))
                continue
            except Exception as error:  # RecursionError too
                deliveries.append(Delivery(stage=ENCODE_REQUEST, error=describe(error)))
                continue
            deliveries.append(await_delivery(replies, n, codec, config.timeout))
        return deliveries
    finally:
        disconnect(replies, requests_queue, board)


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
            return Delivery(stage=DECODE_REPLY, error=describe(error))
        if item is None:
            return Delivery(stage=NO_REPLY, error="the server stopped")
        if item[0] == n:
            break
    try:
        reply = codec.decode(item[1])
    except Exception as error:
        return Delivery(stage=DECODE_REPLY, error=describe(error))
    return delivery_of(reply)
