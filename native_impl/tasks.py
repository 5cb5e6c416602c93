"""`--concurrency asyncio`: the responder and the requester as asyncio tasks. Manager proxies only block, so
this is the honest equivalent of zmq.asyncio and no more: each task has a thread of its own (`ProxyThread`)
that creates its proxies and makes every call on them, since a proxy belongs to one thread (the managers
documentation), and the task awaits each call. A thousand requester tasks are thus a thousand threads, each
with its connection and its thread on the server, as with `--concurrency threads`, plus a hop to a thread
and back for every call. Each runs the same loop as its blocking counterpart (responder.responding,
requester.requesting), with its calls made through the task's thread.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable

from native_impl.connection import connect, disconnect, hang_up
from native_impl.internals import thread_connection
from native_impl.requester import requesting
from native_impl.responder import responding
from shared.core.config import RunConfig
from shared.core.modes import settle
from shared.core.results import RequesterResult


class ProxyThread:
    """The thread that holds one task's proxies and makes its manager calls, one at a time. On the way out,
    `close` hangs up the task's connection, which wakes a call still blocked in it (a get waiting for a
    reply); the thread then releases the proxies and ends."""

    sleep = staticmethod(asyncio.sleep)

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

    async def wait(self, start, seconds: float) -> None:
        await start.wait(seconds)

    def hold(self, proxy) -> None:
        pass  # `close` hangs up this task's connection itself

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
    await responding(config, index, ready, ProxyThread(f"native responder {index} calls"))


async def request(config: RunConfig, requester_id: int, start, progress) -> RequesterResult:
    """requester.request as a task: `start` is a barrier of tasks (shared.core.event_loop.LoopBarrier)."""
    return await requesting(config, requester_id, start, progress,
                            ProxyThread(f"native requester {requester_id} calls"))
