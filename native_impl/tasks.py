"""`--concurrency asyncio`: the responder and the requester as asyncio tasks. Manager proxies only block, so
this is the honest equivalent of zmq.asyncio and no more: each task has a thread of its own (`ProxyThread`)
that creates its proxies and makes every call on them, since a proxy belongs to one thread (the managers
documentation), and the task awaits each call. A thousand requester tasks are thus a thousand threads, each
with its connection and its thread on the server, as with `--concurrency threads`, plus a hop to a thread
and back for every call.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable

from native_impl.codec import CODECS, error_reply
from native_impl.requester import BatchChannel, QueueChannel, await_reply, resend
from native_impl.responder import answer_batch, send_reply, unpack
from native_impl.server import connect, disconnect, hang_up, reply_key
from shared.config import START_DEADLINE, PeerLost, RunConfig
from shared.event_loop import settle
from shared.pipeline import Stopped, pipeline_async
from shared.results import RequesterResult, Tally, no_reply
from shared.roles import notice_level
from shared.workload import BadRequests, answer, describe, responder_handler, workload_for

log = logging.getLogger(__name__)


class ProxyThread:
    """The thread that holds one task's proxies and makes its manager calls, one at a time. On the way out,
    `close` hangs up the task's connection, which wakes a call still blocked in it (a get waiting for a
    reply); the thread then releases the proxies and ends."""

    def __init__(self, name: str) -> None:
        self._loop = asyncio.get_running_loop()
        self._calls: queue.SimpleQueue = queue.SimpleQueue()
        self._held: list = []  # the proxies made here, released here, newest first
        self._connection = None
        # A daemon only so that a server that never answers cannot hold the interpreter: close() ends it.
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while (call := self._calls.get()) is not None:
            future, function, args = call
            try:
                outcome = (function(*args), None)
            except BaseException as error:  # handed to the task, which decides
                outcome = (None, error)
            try:
                self._loop.call_soon_threadsafe(settle, future, *outcome)
            except RuntimeError:
                break  # the loop is closed: the task went with it
        disconnect(*reversed(self._held))

    async def call(self, function: Callable, *args):
        future = self._loop.create_future()
        self._calls.put((future, function, args))
        return await future

    async def connect(self, config: RunConfig, who: str, level: int):
        """The board proxy, connected from this thread."""
        board = await self.call(connect, config, who, level)
        self._held.append(board)
        return board

    async def proxy(self, make: Callable, *args):
        """A proxy made on this thread (`board.requests`, say), released when the thread ends."""
        made, self._connection = await self.call(_made_here, make, args)
        self._held.append(made)
        return made

    def close(self) -> None:
        if self._connection is not None:
            hang_up(self._connection)
        self._calls.put(None)


def _made_here(make: Callable, args: tuple) -> tuple:
    """A proxy, and this thread's connection to the server: one per thread, which every proxy to that
    server uses (multiprocessing.managers.BaseProxy keeps it thread-local)."""
    made = make(*args)
    return made, getattr(made._tls, "connection", None)


async def respond(config: RunConfig, index: int, ready) -> None:
    """responder.respond as a task: the get and the reply are calls on the task's thread; the handler runs
    on the loop, where a request whose handling raises costs an error reply, not the loop."""
    handle = responder_handler(config.workload)
    codec = CODECS[config.codec]
    decode, encode = codec.decode, codec.encode
    bad = BadRequests(index)
    calls = ProxyThread(f"native responder {index} calls")
    try:
        board = await calls.connect(config, f"native responder {index}", notice_level(index))
        requests = await calls.proxy(board.requests)
        ready.set()
        if config.batch:
            await respond_in_batches(config, index, board, handle, codec, bad, calls)
            return
        while True:
            try:
                item = await calls.call(requests.get)
            except (EOFError, ConnectionError):
                raise
            except Exception as error:  # it would not unpickle here: whose it was is lost with it
                log.warning("responder %d: dropped a request that could not be received: %s", index,
                            describe(error))
                continue
            if item is None:
                break
            try:
                key, n, payload = item
            except (TypeError, ValueError):
                unpack(item, bad)  # again, to count it
                continue
            try:
                reply = encode(handle(decode(payload)))
            except Exception:
                reply = answer(handle, codec, payload, error_reply, bad)  # again, step by step, to name the stage
            await calls.call(send_reply, board.reply, key, n, reply, codec, index)
    except (EOFError, ConnectionError) as error:
        raise PeerLost(f"lost the native server at {config.address}: {error!r}") from None
    finally:
        calls.close()


async def respond_in_batches(config: RunConfig, index: int, board, handle, codec, bad: BadRequests,
                             calls: ProxyThread) -> None:
    """responder.respond_in_batches as a task: the two calls per batch on the task's thread, the handler on
    the loop."""
    most = max(config.window, 1)
    while True:
        answers, stop = answer_batch(await calls.call(board.take_requests, most), handle, codec, bad)
        try:
            await calls.call(board.reply_many, [(key, (n, reply)) for key, n, reply in answers])
        except (EOFError, ConnectionError):
            raise
        except Exception:  # one reply would not pickle here, or not unpickle there
            for key, n, reply in answers:
                await calls.call(send_reply, board.reply, key, n, reply, codec, index)
        if stop:
            return


async def request(config: RunConfig, requester_id: int, start, progress) -> RequesterResult:
    """requester.request as a task: `start` is a barrier of tasks (shared.event_loop.LoopBarrier)."""
    workload, codec = workload_for(config), CODECS[config.codec]
    tally = Tally(requester_id, config.share(requester_id), workload, codec, progress)
    calls = ProxyThread(f"native requester {requester_id} calls")
    try:
        board = await calls.connect(config, f"native requester {requester_id}", notice_level(requester_id))
        key = reply_key()
        requests, replies = await calls.proxy(board.requests), await calls.proxy(board.replies, key)
        await start.wait(START_DEADLINE + config.timeout)
        began = time.perf_counter()
        try:
            if config.lockstep and not config.batch:
                await lockstep(config, requester_id, workload, codec, tally, key, calls, requests, replies)
            else:
                channel = (BatchChannel if config.batch else QueueChannel)(config, codec, key, board, requests, replies)
                await pipeline_async(ChannelCalls(channel, calls), config, requester_id, workload, tally)
        except Stopped:
            tally.give_up("stopped while waiting for a reply")
        except (EOFError, ConnectionError) as error:
            tally.give_up(f"lost the native server at {config.address}: {error!r}")
        return tally.close(began, time.perf_counter())
    finally:
        calls.close()


async def lockstep(config: RunConfig, requester_id: int, workload, codec, tally: Tally, key: int,
                   calls: ProxyThread, requests, replies) -> None:
    """requester.lockstep with each manager call awaited on the task's thread."""
    make, encode, put, get, call = workload.request, codec.encode, requests.put, replies.get, calls.call
    timeout = config.timeout
    clock = time.perf_counter_ns if config.record_latency else int
    for n in range(tally.result.planned):
        req = make(requester_id, n)
        item = (key, n, encode(req))
        sent = clock()
        await call(put, item)
        try:
            reply = await call(get, True, timeout)
            if reply is None or reply[0] != n:  # stopped, or a late answer to an earlier request
                reply = await call(await_reply, get, n, timeout, tally, reply)
        except queue.Empty:
            reply = await call(resend, config, put, get, item, tally)
            if reply is None:
                tally.give_up(no_reply(config))
                return
        tally.record(n, clock() - sent, req, reply[1])


class ChannelCalls:
    """A requester's channel (requester.QueueChannel or BatchChannel), each method awaited on the task's
    thread."""

    def __init__(self, channel, calls: ProxyThread) -> None:
        self.channel, self.call = channel, calls.call

    async def send(self, n: int, request) -> None:
        await self.call(self.channel.send, n, request)

    async def flush(self) -> None:
        await self.call(self.channel.flush)

    async def receive(self, timeout: float) -> list:
        return await self.call(self.channel.receive, timeout)
