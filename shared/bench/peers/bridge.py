"""Any peer as a transport of the bench alone, so that `run` (shared/core/run.py) starts, releases, checks,
measures and stops it as it does reqrep's own: the peer's server is the run's server in the one-hop shape
(`--one-hop`, answering in place, no responders), and each requester is reqrep's lockstep loop
(shared/core/lockstep.py) over the peer's client.

Only what a bench point needs is here: processes, the echo workload, lockstep, one hop. The roles a peer does
not have (responders apart from its server, asyncio tasks, mirror deliveries, threads to wake) are refused."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from shared.bench.peers.peer import Client, Peer
from shared.core.bench_paths import BenchPath
from shared.core.channel import complete
from shared.core.config import LOOPBACK, START_DEADLINE, RunConfig, Settings
from shared.core.errors import UsageError
from shared.core.lockstep import drive, lockstep
from shared.core.ports import free_port
from shared.core.results import RequesterResult, Tally
from shared.core.transport import Transport
from shared.core.wire import Framing, identity
from shared.core.workload import one_line, responder_handler, workload_for

STUDY = "peers"  # the bench study that runs the peers
_HOST_PORT = re.compile(r"^([A-Za-z0-9_.-]+):(\d{1,5})$")


def body_only(tag: Any, body: Any) -> Any:
    return body


def answers_its_call(reply: Any, tag: Any) -> bool:
    return True  # a call's reply answers that call: nothing to number


# A peer's reply comes back to the call that sent it: the messages carry no request number.
FRAMING = Framing(tag=int, join=body_only, expect=body_only, answers=answers_its_call, body=identity,
                  number=lambda reply: -1, listens=False)


@dataclass(frozen=True)
class PeerSettings(Settings):
    """No settings of its own: the checks of what a peer's run can be."""

    def check(self, config: RunConfig) -> None:
        name = config.transport.name
        if config.concurrency != "processes":
            raise UsageError(f"{name} runs with every role a process, not --concurrency {config.concurrency}")
        if config.workload != "echo" or config.payload is not None or not config.lockstep:
            raise UsageError(f"{name} runs the echo workload in lockstep only")
        if not config.one_hop or config.delay_ms is not None:
            raise UsageError(f"{name} runs in one hop (its server answers in place), without delays")


class CallChannel:
    """A lockstep channel over a peer's client: `send` makes the call, `recv` hands over its reply; after a
    missed reply, a fresh connection."""

    missed = TimeoutError
    asynchronous = False  # send and recv are plain calls, as reqrep's own blocking channels make them

    def __init__(self, peer: Peer, config: RunConfig) -> None:
        self.peer, self.config = peer, config
        self.client: Client = self.connect()
        self.reply: Any = None

    def connect(self) -> Client:
        host, port = host_port(self.config.address)
        return self.peer.connect(host, port, self.config.timeout)

    def send(self, message: Any) -> None:
        self.reply = self.client.call(message)

    def recv(self) -> Any:
        return self.reply

    async def renew(self) -> None:
        self.client.close()
        self.client = self.connect()

    def close(self) -> None:
        self.client.close()


def host_port(address: str) -> tuple[str, int]:
    host, port = address.rsplit(":", 1)
    return host, int(port)


def answerer(config: RunConfig, peer: Peer):
    """What the peer carries -> its answer, the workload's; an error's sentence as a wrong answer."""
    handle, encode, decode = responder_handler(config.workload), peer.codec.encode, peer.codec.decode

    def answer(message: Any) -> Any:
        try:
            return encode(handle(decode(message)))
        except Exception as error:  # the requester counts it wrong and says what it was
            return encode(one_line(error))

    return answer


def serve_peer(config: RunConfig, ready) -> None:
    """The peer's server, answering in place until SIGTERM."""
    peer = config.transport.peer
    host, port = host_port(config.address)
    peer.serve(host, port, answerer(config, peer), config.requesters, ready)


def request(config: RunConfig, requester_id: int, start, progress) -> RequesterResult:
    """reqrep's lockstep loop over the peer's client, every reply checked, once `start` releases it."""
    peer = config.transport.peer
    tally = Tally(requester_id, config.share(requester_id), workload_for(config), peer.codec, progress,
                  peer=config.address)
    channel = CallChannel(peer, config)
    try:
        start.wait(START_DEADLINE + config.timeout)
        began = time.perf_counter()
        try:
            complete(drive(lockstep(config, tally, FRAMING), channel))
        except ConnectionError as error:
            tally.give_up(f"{config.role('server')} at {config.address}: {error}")
        return tally.close(began, time.perf_counter())
    finally:
        channel.close()


def refuse(what: str):
    def refused(config: RunConfig, *args, **kwargs):
        raise UsageError(f"{config.transport.name} is a peer of the bench: it has no {what}")

    return refused


class PeerTransport(Transport):
    """A peer as the core's run sees it."""

    server_role = "server"
    place = 200  # after reqrep's own transports
    settings_type = PeerSettings

    def __init__(self, peer: Peer) -> None:
        self.peer = peer

    @property
    def name(self) -> str:
        return self.peer.name

    @property
    def title(self) -> str:
        return self.peer.title

    @property
    def codecs(self) -> dict:
        return {self.peer.codec.name: self.peer.codec}

    @property
    def bench_paths(self) -> tuple[BenchPath, ...]:
        return (BenchPath(self.name, self.name, self.peer.codec.name, one_hop=True, studies=(STUDY,),
                          description=f"{self.title} ({self.peer.hops})"),)

    @property
    def one_hop_shape(self) -> str:
        return self.peer.hops

    def versions(self) -> dict[str, str]:
        version = self.peer.version()
        return {self.peer.distribution: version} if version else {}

    # ---- addresses ---------------------------------------------------------------------------------------
    def parse_address(self, text: str) -> str:
        match = _HOST_PORT.match(text)
        if not match or int(match.group(2)) > 65535:
            raise UsageError(f"malformed address {text!r} for {self.name}: expected HOST:PORT")
        return text

    def host_port(self, address: str) -> tuple[str, int]:
        return host_port(address)

    def address_for(self, host: str, port: int) -> str:
        return f"{host}:{port}"

    @contextlib.contextmanager
    def loopback(self, config: RunConfig, host: str = LOOPBACK) -> Iterator[RunConfig]:
        yield config.with_(address=self.address_for(host, free_port(host)))

    # ---- roles: the server answers in place ---------------------------------------------------------------
    serve = staticmethod(serve_peer)
    respond = staticmethod(refuse("responders apart from its server"))
    respond_async = staticmethod(refuse("asyncio roles"))
    request = staticmethod(request)
    request_async = staticmethod(refuse("asyncio roles"))
    deliver = staticmethod(refuse("mirror deliveries"))

    def stop_threads(self, config: RunConfig) -> None:
        """Never called: a peer's roles are processes (PeerSettings.check)."""

    def stop_requesters(self, config: RunConfig) -> None:
        """Never called: a peer's roles are processes (PeerSettings.check)."""
