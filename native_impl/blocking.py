"""The blocking form of a role's manager calls; tasks.py has the asyncio one (`ProxyThread`). Each role's loop
is written once over a form (shared/core/channel.py), and every call it makes through one is awaited.
"""

from __future__ import annotations

from native_impl.connection import connect, disconnect, hold
from shared.core.channel import pause, wait
from shared.core.config import RunConfig
from shared.core.peers import Peer


class Calls:
    """The blocking form of a role's manager calls (tasks.ProxyThread is the asyncio one): each made here, in
    a coroutine that never suspends, so that each role's loop, written once, runs under
    shared.core.channel.complete. `close` releases the proxies made here, newest first."""

    sleep, wait = staticmethod(pause), staticmethod(wait)

    def __init__(self) -> None:
        self.held: list = []

    async def connect(self, config: RunConfig, peer: Peer):
        board = connect(config, peer)
        self.held.append(board)
        return board

    async def proxy(self, make, *args):
        made = make(*args)
        self.held.append(made)
        return made

    @staticmethod
    async def call(function, *args):
        return function(*args)

    @staticmethod
    def hold(proxy) -> None:
        hold(proxy)

    def close(self) -> None:
        disconnect(*reversed(self.held))
