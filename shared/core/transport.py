"""The transport contract: what the core asks of a transport, split by who asks it.

`Transport` has 14 REQUIRED members, abstract here, that every transport writes:
- its name and its codecs: `name`, `codecs`;
- its addresses: `parse_address`, `host_port`, `address_for`, `loopback`;
- its roles: `serve`, `respond`, `respond_async`, `request`, `request_async`, `deliver`;
- how its roles stop: `stop_threads`, `stop_requesters`.

Everything else is OPTIONAL, with a default that fits a transport of one server that every role reaches at
`config.address`, grouped by the layer that asks for it:
- the run (here): `default_codec`, `settings_type`, `settings`, `needs_server`, `request_router`,
  `one_hop_shape`, `local_sockets`;
- the command line (`CommandLine`): `title`, `codec_help`, `options`, `parts`, `commands`, `examples`,
  `announcement`, `serving`;
- the delaying relay (`Relay`): `responders_reach`, `responders_via`;
- reports (`Reports`): `server_role`, `place`, `thread_kinds`, `wire_bytes`, `payload_codec`, `versions`;
- the bench (`Bench`): `bench_paths`, `paths_for_bench`, `codec_passes`;
- the semantics table (`Semantics`): `semantics_codecs`, `semantics_settings`.

Each transport exposes one `TRANSPORT`, registered under the entry point group `reqrep.transports`.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from shared.core.bench_paths import BenchPath
from shared.core.config import LOOPBACK, RunConfig, Settings, counted
from shared.core.flags import ExtraCommand, Option, Part, option
from shared.core.wire import Codec

if TYPE_CHECKING:  # the names are for the type hints only
    from shared.core.results import RequesterResult
    from shared.core.workload import Delivery


class CommandLine:
    """What shared/cli asks of a transport: its flags, its tandem commands and their words."""

    @property
    def title(self) -> str:  # one line for --help and reports: what travels, and how
        return self.name

    @property
    def codec_help(self) -> str:
        return f"{', '.join(self.codecs)} (default {self.default_codec})"

    @property
    def options(self) -> tuple[Option, ...]:
        """Its flags, each setting a field of `settings_type` or RunConfig.address."""
        return (option("--address", parts=" ".join([*self.parts, "request"]), metavar="ADDRESS", required=True,
                       help="where the server listens, and where its peers reach it"),)

    # The response side's parts that a tandem command starts ("serve", "responders" ...), with their help.
    parts: Mapping[str, Part] = {"serve": Part("the response side: server and responders")}
    commands: tuple[ExtraCommand, ...] = ()  # commands of its own (`reqrep zmq keys`)
    examples: tuple[str, ...] = ()  # command lines of its tandem use, for its --help (checked by a test)

    def announcement(self, config: RunConfig, part: str) -> str:
        """What a response side that started says: where it serves, and what."""
        responders = counted(config.responders, "responder")
        if part == "serve":
            return f"serving on {config.address} with {responders}"
        return f"{part}: {responders} serving for the {self.server_role} at {config.address}"

    def serving(self, config: RunConfig) -> RunConfig:
        """For `serve`: the addresses only its own roles use, chosen free now (zmq: the broker's back)."""
        return config


class Relay:
    """What `--responder-delay`'s relay asks: where the responders reach the server, and how to point them
    elsewhere. The default: the address the requesters reach."""

    def responders_reach(self, config: RunConfig) -> str:
        """The TCP address where the responders reach the server (UsageError: not over TCP)."""
        return config.address

    def responders_via(self, config: RunConfig, address: str) -> RunConfig:
        return config.with_(address=address)


class Reports:
    """What a run's results and reports ask: the words for its roles, and what travels on its wire."""

    server_role: str = "server"  # "broker": what its server is called in reports and role names
    place: int = 100  # its place among the transports, left to right in every report (zmq 0, native 1)
    thread_kinds: tuple[tuple[str, str], ...] = ()  # (marker in a thread's name, what the thread does)

    def payload_codec(self, config: RunConfig) -> Codec:
        """The run's codec with whatever the transport wraps around a value, refusing what it would drop."""
        return self.codecs[config.codec]

    def wire_bytes(self, config: RunConfig, request: Any, reply: Any) -> dict:
        """What a request and its reply weigh on the wire: request, reply, messages, total."""
        encode = self.payload_codec(config).encode
        sizes = {"request": len(encode(request)), "reply": len(encode(reply))}
        return sizes | {"messages": 2, "total": sum(sizes.values())}

    def versions(self) -> dict[str, str]:
        """The versions of the libraries its figures depend on, for reports."""
        return {}


class Bench:
    """What `reqrep bench` asks: the paths a request takes over this transport, and its codec work."""

    @property
    def bench_paths(self) -> tuple[BenchPath, ...]:
        """Its paths in `reqrep bench`, the plain one first."""
        return (BenchPath(self.name, self.name, self.default_codec, description=self.title),)

    def paths_for_bench(self, values: Mapping[str, Any]) -> tuple[BenchPath, ...]:
        """Its paths as its bench options (those whose parts name `bench`) make them."""
        return self.bench_paths

    codec_passes: int = 2  # how often a value goes through payload_codec on its round trip


class Semantics:
    """What `reqrep semantics` asks: the codecs its values go through, and the settings they go with."""

    @property
    def semantics_codecs(self) -> tuple[str, ...]:
        return (self.default_codec,)

    semantics_settings: Mapping[str, Any] = {}  # its settings for `reqrep semantics` (no size limit, say)


class Transport(CommandLine, Relay, Reports, Bench, Semantics, ABC):
    """What the core needs from a transport. A role function runs in the role's own process, thread or task;
    a required member may be a plain attribute (`serve = staticmethod(server.serve)`)."""

    # ---- required: how it names itself, and its codecs ----------------------------------------------------
    @property
    @abstractmethod
    def name(self) -> str:
        """"zmq": the command's word, and every report's label."""

    @property
    @abstractmethod
    def codecs(self) -> Mapping[str, Codec]:
        """Its codecs by name."""

    # ---- required: addresses ----------------------------------------------------------------------------
    @abstractmethod
    def parse_address(self, text: str) -> str:
        """The address, checked (UsageError when malformed)."""

    @abstractmethod
    def host_port(self, address: str) -> tuple[str, int]:
        """The TCP host and port of an address of this transport."""

    @abstractmethod
    def address_for(self, host: str, port: int) -> str:
        """An address of this transport at a TCP host and port."""

    @abstractmethod
    def loopback(self, config: RunConfig, host: str = LOOPBACK) -> contextlib.AbstractContextManager[RunConfig]:
        """A run wholly on this machine: free ports on `host` and whatever else it needs (keys), while open."""

    # ---- required: roles ----------------------------------------------------------------------------------
    @abstractmethod
    def serve(self, config: RunConfig, ready) -> None:
        """The broker or server, until stopped (SIGTERM in a process, `stop_threads` in a thread)."""

    @abstractmethod
    def respond(self, config: RunConfig, index: int, ready) -> None:
        """A responder: answer requests until stopped. `ready` is set once it can take requests."""

    @abstractmethod
    async def respond_async(self, config: RunConfig, index: int, ready) -> None:
        """`respond` as an asyncio task."""

    @abstractmethod
    def request(self, config: RunConfig, requester_id: int, start, progress) -> RequesterResult:
        """A requester: its share, sent once `start` (a barrier) releases it; `progress[requester_id]` counts."""

    @abstractmethod
    async def request_async(self, config: RunConfig, requester_id: int, start, progress) -> RequesterResult:
        """`request` as an asyncio task (`start` is then a shared.core.event_loop.LoopBarrier)."""

    @abstractmethod
    def deliver(self, config: RunConfig, values: list) -> list[Delivery]:
        """Send each value to a mirror responder, in order, and say what came back or where it failed."""

    # ---- required: stopping -------------------------------------------------------------------------------
    @abstractmethod
    def stop_threads(self, config: RunConfig) -> None:
        """Wake and stop every role of this run that is a thread of this process (server included)."""

    @abstractmethod
    def stop_requesters(self, config: RunConfig) -> None:
        """Stop the requesters that are threads of this process, against a server that is not ours."""

    # ---- optional: the run --------------------------------------------------------------------------------
    settings_type: type[Settings] = Settings  # its own fields of RunConfig, defaults included
    # Whether `loopback` honours `config.local`: every hop over sockets in files of a private folder.
    local_sockets: bool = False

    @property
    def default_codec(self) -> str:
        """The codec of a run that names none. The default: its first."""
        return next(iter(self.codecs))

    def settings(self, values: Mapping[str, Any]) -> Settings:
        return self.settings_type(**values)

    def needs_server(self, config: RunConfig) -> bool:
        return True

    # Its one-hop shape (`--one-hop`: the server answers every request itself, its roles reading
    # `config.one_hop`), in a few words for reports; empty: it has none, and the run refuses the flag.
    one_hop_shape: str = ""

    def request_router(self, config: RunConfig) -> tuple[Callable, tuple, RunConfig] | None:
        """A role to start before the requesters: its function, its arguments (`ready` passed after them)
        and the requesters' configuration pointed at it."""
        return None
