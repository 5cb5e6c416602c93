"""The transport contract: everything the core (the runner, measurements, reports, the bench, the semantics
table and the command line) asks of a transport, in one place.

zmq_impl and native_impl each expose one object that fulfils it (`TRANSPORT` in their `__init__`), and
`shared/cli/commands.py` builds the registry from the two. A third transport subclasses `Transport`, fills in every
member below, and adds one line to that registry; nothing else in `shared/` names a transport.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:  # config.py imports this module: the names are for the type hints only
    from shared.core.config import RunConfig
    from shared.core.results import RequesterResult
    from shared.core.workload import Delivery

log = logging.getLogger(__name__)


LOOPBACK = "127.0.0.1"  # where a run wholly on this machine listens, unless it asks for another (::1)


class Codec(NamedTuple):
    """A pair of functions between the workload's values and what the transport carries."""

    name: str
    encode: Callable[[Any], Any]
    decode: Callable[[Any], Any]


class Framing(NamedTuple):
    """How a transport numbers a request and finds the number in its reply, so that the requesters' loops
    (shared/core/lockstep.py, shared/core/pipeline.py) can pair them without knowing the wire. C callables where the
    transport can: they run once per request."""

    tag: Callable[[int], Any]  # n -> what marks request n on the wire
    join: Callable[[Any, Any], Any]  # (tag, encoded request) -> the message sent
    expect: Callable[[Any, Any], Any]  # (tag, encoded reply) -> the reply message that answers with it
    answers: Callable[[Any, Any], bool]  # (reply message, tag) -> whether it answers the tagged request
    body: Callable[[Any], Any]  # reply message -> the encoded reply
    number: Callable[[Any], int]  # reply message -> the number of the request it answers (-1: none)
    listens: bool  # whether a requester may wait for another reply without sending again (a REQ socket may not)


def identity(value: Any) -> Any:
    return value


@dataclasses.dataclass(frozen=True)
class Settings:
    """A transport's own fields of a run's configuration; each transport subclasses it. A field's default
    is the default of the option that sets it."""

    def check(self, config: RunConfig) -> None:
        """Refuse, with a UsageError, what does not fit the rest of the configuration."""

    def public(self) -> dict:
        """The fields for reports and JSON: never a key."""
        return dataclasses.asdict(self)

    @classmethod
    def described(cls, parameters: dict) -> dict[str, str]:
        """The settings a run's table shows, as {row: cell} (zmq: {"broker": "proxy", "security": "CURVE off"}),
        from the run's recorded parameters (RunConfig.parameters): the same words for a live run and a saved
        file, NOT_RECORDED (shared.core.config) for a field the file is older than. Only what the run's own side
        knows (a request side does not know which broker answers it). The default: none."""
        return {}


@dataclasses.dataclass(frozen=True)
class Option:
    """One command-line flag: argparse's own arguments, the configuration field it sets, and the commands
    where it applies (run, compare, serve, broker, responders, request, or a transport's own). It is offered
    there and refused, naming where it applies, anywhere else."""

    flags: tuple[str, ...]
    dest: str
    help: str
    parts: frozenset[str]
    arguments: Mapping[str, Any] = dataclasses.field(default_factory=dict)  # type, default, action, metavar ...


def option(*flags: str, dest: str = "", help: str, parts: str, **arguments: Any) -> Option:  # noqa: A002
    """`option("--batch", help=..., parts="run compare serve", action="store_true")`."""
    name = dest or flags[0].lstrip("-").replace("-", "_")
    return Option(tuple(flags), name, help, frozenset(parts.split()), arguments)


@dataclasses.dataclass(frozen=True)
class BenchPath:
    """One way a request travels in `reqrep bench`: a transport, its codec and its tuning."""

    name: str
    transport: str
    codec: str
    settings: Mapping[str, Any] = dataclasses.field(default_factory=dict)  # the Settings fields that make it
    window: int = 1  # requests in flight per requester, except in the window study
    description: str = ""
    stalls_above: int = 0  # from this payload size on, each request waits out a stall (Nagle): fewer are sent
    # The bench studies it runs in, by name or group ("sweep": payload, window, stalls, memory; EVERY_STUDY:
    # wherever the plain path does, for a twin of it). The plain path runs in every study whatever this says.
    studies: tuple[str, ...] = ("sweep",)
    # Whether a broker pushes requests to the responders in turn, busy or hung (a zmq.proxy's DEALER), rather
    # than each responder taking one when it is free: the fault study reports push and pull side by side.
    pushes: bool = False
    batches: bool = False  # whether a call moves many requests or replies: a request waits for the others

    @property
    def plain(self) -> bool:
        """The transport's own path, as `reqrep run` takes it: the one every study compares."""
        return self.name == self.transport


EVERY_STUDY = "every"  # a BenchPath.studies entry: the path runs in every study that its plain path runs in


class ExtraCommand(NamedTuple):
    """A command of one transport only (`reqrep zmq keys`): its options, and what it does, as lines to print."""

    name: str
    help: str
    options: tuple[Option, ...]
    run: Callable[[dict], list[str]]


class Transport(ABC):
    """What the core needs from a transport. Roles run as processes, threads or asyncio tasks (see
    shared/core/supervisor.py); each role function below runs in the role's own process or thread. A transport
    may fill a role with its module's function (`serve = staticmethod(server.serve)`): the core calls it
    as `transport.serve(config, ready)`."""

    # ---- how it names itself ----------------------------------------------------------------------------
    name: str  # "zmq": the command's word, and every report's label
    title: str  # one line for --help and reports: what travels, and how
    server_role: str  # "broker": what its server is called in reports and role names
    settings_type: type[Settings]  # its own fields of RunConfig, defaults included
    thread_kinds: tuple[tuple[str, str], ...] = ()  # (marker in a thread's name, what the thread does)

    # ---- codecs -----------------------------------------------------------------------------------------
    codecs: Mapping[str, Codec]
    default_codec: str
    semantics_codecs: tuple[str, ...]  # the codecs `reqrep semantics` sends its values through
    codec_help: str  # one line on each codec, for --help

    # ---- addresses --------------------------------------------------------------------------------------
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
    def loopback(self, config: RunConfig,
                 host: str = LOOPBACK) -> contextlib.AbstractContextManager[RunConfig]:
        """The configuration of a run wholly on this machine: free ports on the loopback `host` (::1 for
        IPv6) and whatever else the run needs (keys), made on entry and removed on exit."""

    @abstractmethod
    def responders_reach(self, config: RunConfig) -> str:
        """The TCP address where this run's responders reach the broker or server (what a delaying relay
        stands in front of); a UsageError saying why when they reach it otherwise (in-process, or directly)."""

    def serving(self, config: RunConfig) -> RunConfig:
        """A whole response side served from this host (`serve`): the addresses only its own roles use,
        chosen free now (zmq: the broker's back). The default: there are none."""
        return config

    @abstractmethod
    def responders_via(self, config: RunConfig, address: str) -> RunConfig:
        """The responders' configuration, reaching the broker or server at `address` instead (a relay's)."""

    # ---- command-line options -----------------------------------------------------------------------------
    options: tuple[Option, ...]  # its flags; each sets a field of `settings_type` or RunConfig.address
    parts: Mapping[str, str]  # the response side's parts that can run alone ("serve", "responders" ...): help
    commands: tuple[ExtraCommand, ...] = ()
    examples: tuple[str, ...] = ()  # command lines of its tandem use, for its --help (checked by a test)

    def settings(self, values: Mapping[str, Any]) -> Settings:
        """Its settings from the values of its options (given or defaults), checked."""
        return self.settings_type(**values)

    @abstractmethod
    def announcement(self, config: RunConfig, part: str) -> str:
        """What a response side that started says: where it serves, and what."""

    # ---- roles ----------------------------------------------------------------------------------------------
    @abstractmethod
    def needs_server(self, config: RunConfig) -> bool:
        """Whether the run has a broker or server between the requesters and the responders."""

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
        """A requester: its share of the run, sent once released by `start` (a barrier), every reply checked;
        `progress[requester_id]` counts its replies as they come."""

    @abstractmethod
    async def request_async(self, config: RunConfig, requester_id: int, start, progress) -> RequesterResult:
        """`request` as an asyncio task (`start` is then a shared.core.modes.LoopBarrier)."""

    def request_router(self, config: RunConfig) -> tuple[Callable, tuple, RunConfig] | None:
        """A role to start on the request side before the requesters, its arguments, and the requesters'
        configuration pointed at it; None when there is none (the default). The last argument is `ready`."""
        return None

    @abstractmethod
    def deliver(self, config: RunConfig, values: list) -> list[Delivery]:
        """Send each value to a mirror responder, in order, and say what came back or where it failed."""

    @abstractmethod
    def stop_threads(self, config: RunConfig) -> None:
        """Wake and stop every role of this run that is a thread of this process (server included)."""

    @abstractmethod
    def stop_requesters(self, config: RunConfig) -> None:
        """Stop the requesters that are threads of this process, against a server that is not ours."""

    # ---- reports and the bench -------------------------------------------------------------------------------
    @abstractmethod
    def wire_bytes(self, config: RunConfig, request: Any, reply: Any) -> dict:
        """What one request and its reply weigh on the wire: request, reply, messages, total."""

    @abstractmethod
    def payload_codec(self, config: RunConfig) -> Codec:
        """The run's codec as a value meets it between a requester and a responder: `encode` gives the bytes
        that carry it (with whatever the transport wraps around the codec's own output, and refusing what the
        transport would drop), `decode` reads them back. The check before a `--payload` run, and its table's
        encoded size, use it."""

    bench_paths: tuple[BenchPath, ...]  # its paths in `reqrep bench`, the plain one first (see BenchPath.studies)

    def paths_for_bench(self, values: Mapping[str, Any]) -> tuple[BenchPath, ...]:
        """Its paths in `reqrep bench` as the values of its options for the bench (those whose parts name
        `bench`) make them. The default: it has none, and its paths are bench_paths."""
        return self.bench_paths

    # How many times a request's value goes through payload_codec's encode and decode on its round trip, from
    # the requester to a responder and back: the bench splits an array's round trip into this codec work and
    # the rest (sockets, copies, waiting).
    codec_passes: int
    semantics_settings: Mapping[str, Any] = {}  # its settings for `reqrep semantics` (no size limit, say)

    @abstractmethod
    def versions(self) -> dict[str, str]:
        """The versions of the libraries its figures depend on, for reports."""
