"""`--concurrency asyncio`: the responder and the requester as asyncio tasks. Manager proxies only block, so
this is the honest equivalent of zmq.asyncio and no more: each task has a thread of its own (`ProxyThread`)
that creates its proxies and makes every call on them, since a proxy belongs to one thread (the managers
documentation), and the task awaits each call. A thousand requester tasks are thus a thousand threads, each
with its connection and its thread on the server, as with `--concurrency threads`, plus a hop to a thread
and back for every call. Each drives the same core as its blocking counterpart (responder.answerer,
shared/core/lockstep.py, shared/core/pipeline.py).
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Callable

from native_impl.codec import CODECS, framing, own_codec
from native_impl.connection import connect, disconnect, hang_up, lost
from native_impl.internals import thread_connection
from native_impl.requester import BatchChannel, QueueChannel, peer_of, reply_key
from native_impl.responder import answer_batch, answerer, batch_delay, dropped, reply_batch, send_reply
from native_impl.responder import peer_of as responder_peer
from shared.core.config import START_DEADLINE, RunConfig
from shared.core.errors import PeerLost
from shared.core.lockstep import Exchange, lockstep
from shared.core.modes import settle
from shared.core.pipeline import Stopped, pipeline_async
from shared.core.results import RequesterResult, Tally, shows_exchanges
from shared.core.service_time import service_delay
from shared.core.workload import BadRequests, workload_for


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

    async def connect(self, config: RunConfig, peer):
        """The board proxy, connected from this thread."""
        board = await self.call(connect, config, peer)
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
    return made, thread_connection(made)


async def respond(config: RunConfig, index: int, ready) -> None:
    """responder.respond as a task: the get and the reply are calls on the task's thread; the answer is made
    on the loop."""
    bad = BadRequests(index)
    answer_item, codec, delay = answerer(config, bad), CODECS[config.codec], service_delay(config)
    calls = ProxyThread(f"native responder {index} calls")
    try:
        peer = responder_peer(config, index)
        board = await calls.connect(config, peer)
        requests = await calls.proxy(board.requests)
        ready.set()
        if config.settings.batch:
            while True:
                items = await calls.call(board.take_requests, config.settings.batch_size)
                if delay:
                    await asyncio.sleep(batch_delay(delay, items))
                answers, stop = answer_batch(items, answer_item)
                await calls.call(reply_batch, board, answers, codec, index)
                if stop:
                    return
        while True:
            try:
                item = await calls.call(requests.get)
            except (EOFError, ConnectionError):
                raise
            except Exception as error:
                dropped(index, error)
                continue
            if item is None:
                break
            if delay:
                await asyncio.sleep(delay())
            answered = answer_item(item)
            if answered is not None:
                await calls.call(send_reply, board.reply, answered, codec, index)
    except (EOFError, ConnectionError) as error:
        raise PeerLost(lost(peer, error)) from None
    finally:
        calls.close()


async def request(config: RunConfig, requester_id: int, start, progress) -> RequesterResult:
    """requester.request as a task: `start` is a barrier of tasks (shared.core.modes.LoopBarrier)."""
    workload, codec = workload_for(config), own_codec(config.codec)
    tally = Tally(requester_id, config.share(requester_id), workload, codec, progress, peer=config.address,
                  show=shows_exchanges(config))
    calls = ProxyThread(f"native requester {requester_id} calls")
    try:
        peer = peer_of(config, requester_id)
        board = await calls.connect(config, peer)
        key = reply_key()
        requests, replies = await calls.proxy(board.requests), await calls.proxy(board.replies, key)
        await start.wait(START_DEADLINE + config.timeout)
        began = time.perf_counter()
        try:
            if config.lockstep and not config.settings.batch:
                await drive(lockstep(config, tally, framing(key)), requests.put, replies.get, config, calls)
            else:
                channel = (BatchChannel if config.settings.batch else QueueChannel)(config, key, board, requests,
                                                                                    replies)
                await pipeline_async(ChannelCalls(channel, calls), config, tally, framing(key))
        except Stopped:
            tally.give_up("stopped while waiting for a reply")
        except (EOFError, ConnectionError) as error:
            tally.give_up(lost(peer, error))
        return tally.close(began, time.perf_counter())
    finally:
        calls.close()


async def drive(exchange: Exchange, put, get, config: RunConfig, calls: ProxyThread) -> None:
    """requester.drive, each manager call awaited on the task's thread."""
    timeout, call = config.timeout, calls.call
    try:
        message = next(exchange)
        while True:
            if message is not None:
                await call(put, message)
            try:
                reply = await call(get, True, timeout)
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


class ChannelCalls:
    """A requester's channel (requester.QueueChannel or BatchChannel), each method awaited on the task's
    thread."""

    def __init__(self, channel, calls: ProxyThread) -> None:
        self.channel, self.call = channel, calls.call

    async def send(self, message) -> None:
        await self.call(self.channel.send, message)

    async def flush(self) -> None:
        await self.call(self.channel.flush)

    async def receive(self, timeout: float) -> list:
        return await self.call(self.channel.receive, timeout)
