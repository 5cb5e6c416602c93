"""The one-hop shape of the managers (`--one-hop`): the manager server's board answers each request itself,
in the method the requester calls (`answer`), on the server's thread for that requester's connection, with a
responder's own `answerer`. A request is one manager call, one round trip, where the seed's shape takes
four (put, get, reply, get) through the queues between requesters and responders; the same key
authenticates every connection.

Unlike zmq's one-hop requester, which is its seed's requester reaching a ROUTER, this one is a loop of its
own: a call that brings its answer back, with the run's timeout as the deadline on its connection.
"""

from __future__ import annotations

import threading
import time

from native_impl import internals, server
from native_impl.blocking import Calls
from native_impl.codec import framing, own_codec
from native_impl.connection import keep_deadline, lost
from native_impl.requester import peer_of
from native_impl.responder import answerer
from native_impl.tasks import ProxyThread
from shared.core.channel import complete
from shared.core.config import START_DEADLINE, RunConfig
from shared.core.lockstep import drive, lockstep
from shared.core.results import RequesterResult, Tally, shows_exchanges
from shared.core.workload import BadRequests, workload_for

SERVER_INDEX = 0  # how the server names itself when it logs a bad request, as a responder would
NO_KEY = 0  # a request's reply key routes nothing here: its answer comes back in the call


class Answering(server.Board):
    """The board, with `answer`. Each thread of the server (one per connection) makes its answers with an
    answerer of its own: a msgpack Packer is not for sharing between threads."""

    def __init__(self, config: RunConfig) -> None:
        super().__init__()
        self._config, self._bad, self._own = config, BadRequests(SERVER_INDEX), threading.local()

    def answer(self, item) -> tuple | None:
        """(key, number, request) -> (number, reply), an error reply if need be; None for an item of another
        shape, which is counted and dropped."""
        try:
            answer_item = self._own.answer_item
        except AttributeError:
            answer_item = self._own.answer_item = answerer(self._config, self._bad)
        answered = answer_item(item)
        return None if answered is None else answered[1]


def serve(config: RunConfig, ready) -> None:
    """The manager server with the answering board, until interrupted (as server.serve)."""
    server.serve(config, ready, Answering(config))


def open_line(board, seconds: float):
    """The board, its thread's connection to the server opened, with a deadline of `seconds` on every read
    and write. Made through the form's `proxy`, so that the form knows the connection, to hang it up on the
    way out."""
    keep_deadline(internals.open_thread_connection(board), seconds)
    return board


def close_line(board) -> None:
    """Close the thread's connection to the server: one left mid-message by a missed answer is of no
    further use, and the next call opens another."""
    opened = internals.thread_connection(board)
    if opened is not None:
        opened.close()
        internals.forget_thread_connection(board)


def request(config: RunConfig, requester_id: int, start, progress) -> RequesterResult:
    """Send this requester's share once released by `start` (a barrier), one call per request."""
    return complete(requesting(config, requester_id, start, progress, Calls()))


async def request_async(config: RunConfig, requester_id: int, start, progress) -> RequesterResult:
    """`request` as an asyncio task, its calls made on the task's thread (tasks.ProxyThread)."""
    return await requesting(config, requester_id, start, progress,
                            ProxyThread(f"native requester {requester_id} calls"))


async def requesting(config: RunConfig, requester_id: int, start, progress, calls) -> RequesterResult:
    """`request` in any form (native_impl.blocking.Calls, tasks.ProxyThread), in lockstep: the seed's loop,
    each reply checked."""
    workload, codec = workload_for(config), own_codec(config.codec)
    tally = Tally(requester_id, config.share(requester_id), workload, codec, progress, peer=config.address,
                  show=shows_exchanges(config))
    peer = peer_of(config, requester_id)
    try:
        channel = Call(config, await calls.connect(config, peer), calls)
        await channel.reach()
        await calls.wait(start, START_DEADLINE + config.timeout)  # the others may still wait for the server
        began = time.perf_counter()
        try:
            await drive(lockstep(config, tally, framing(NO_KEY)), channel)
        except (EOFError, ConnectionError) as error:
            tally.give_up(lost(peer, error))
        return tally.close(began, time.perf_counter())
    finally:
        calls.close()


class Call:
    """One request at a time, each a call of the board's `answer` that brings its answer back, on a
    connection with the run's timeout as its deadline. A call that waited it out left the connection
    mid-message: `renew` closes it, and the next send opens another, which a hung server fails in time too.
    """

    missed = BlockingIOError  # what a read or write past the connection's deadline raises

    def __init__(self, config: RunConfig, board, calls) -> None:
        self.board, self.calls, self.timeout = board, calls, config.timeout
        self.answer, self.call, self.reply, self.open = board.answer, calls.call, None, False

    async def reach(self) -> None:
        """Open the connection the calls go through."""
        await self.calls.proxy(open_line, self.board, self.timeout)
        self.calls.hold(self.board)  # the blocking form's: `stop_requesters` hangs it up
        self.open = True

    async def send(self, message) -> None:
        if not self.open:
            await self.reach()
        self.reply = await self.call(self.answer, message)

    async def recv(self):
        reply, self.reply = self.reply, None
        return reply

    async def renew(self) -> None:
        await self.call(close_line, self.board)
        self.open = False
