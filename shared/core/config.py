"""The parameters of one run (`RunConfig`), whose constructor refuses what does not fit, in one sentence."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from shared.core.errors import UsageError
from shared.core.faults import parse_fault
from shared.core.flags import Part
from shared.core.service_time import parse_service_time
from shared.core.workload import WORKLOADS, UserValues

# Connections waiting to be accepted on a server's listening socket: the managers ask for 16 and libzmq for 100,
# and a thousand requesters connecting at once would see theirs retried for seconds (capped by net.core.somaxconn).
LISTEN_BACKLOG = 4096
LOOPBACK = "127.0.0.1"  # where a run wholly on this machine listens, unless it asks for another (::1)
EXAMPLES = ("hello", "router")
CONCURRENCY = ("processes", "threads", "asyncio")
IN_ONE_PROCESS = ("threads", "asyncio")  # every role in the process that starts them
HELLO_REQUESTS = 5
ROUTER_REQUESTS, ROUTER_ROLES = 100_000, 5  # requests, and requesters and responders each
MAX_RETRIES = 100
MAX_REQUESTS = 2**63 - 1
START_DEADLINE = 60.0  # seconds for every role of a run to be connected and ready
MIN_TIMEOUT = 0.001  # a millisecond: a shorter wait for a reply is no wait
NOT_RECORDED = "not recorded"  # the cell of a setting that a saved file is older than (Settings.described)
RUN_HANDSHAKE_SECONDS = 1.0  # a run's roles reach its server within this at least


@dataclass(frozen=True)
class Settings:
    """A transport's own fields of a run's configuration, each defaulting as the option that sets it."""

    def check(self, config: RunConfig) -> None:
        """Refuse, with a UsageError, what does not fit the rest of the configuration."""

    def public(self) -> dict:
        """The fields for reports and JSON: never a key."""
        return dataclasses.asdict(self)

    @classmethod
    def described(cls, parameters: dict) -> dict[str, str]:
        """The settings a run's table shows, {row: cell}, from its parameters (NOT_RECORDED: a file lacks it)."""
        return {}


class Carrier(Protocol):
    """What a configuration asks of its transport (`Transport`, whose module imports this one)."""

    name: str
    codecs: Mapping[str, Any]
    default_codec: str
    settings_type: type[Settings]
    parts: Mapping[str, Part]
    one_hop_shape: str
    local_sockets: bool

    def parse_address(self, text: str) -> str: ...


@dataclass(frozen=True)
class RunConfig:
    """Everything a role needs to know; fields left None or empty take the example's or transport's default."""

    transport: Carrier  # a shared.core.transport.Transport
    part: str = "run"
    example: str = "router"
    requests: int | None = None  # in all: router 100,000, hello 5
    requesters: int | None = None  # router 5, hello 1
    responders: int | None = None  # router 5, hello 1; 0 for a broker alone or a requester
    concurrency: str = "processes"
    workload: str = "echo"
    codec: str = ""  # the transport's default when empty
    timeout: float = 10.0  # seconds to wait for a reply before sending the request again
    retries: int = 3  # times a request is sent again before the server is presumed down
    address: str = ""  # where requesters find the response side (empty: not chosen yet)
    window: int = 1  # requests in flight per requester (closed loop); 1: lockstep
    rate: float = 0.0  # requests per second in all, sent on schedule (open loop); 0: closed loop
    payload_bytes: int = 0  # size of each echo request's text (0: "Hello, <id> <n>")
    record_latency: bool = True  # off only to measure what recording costs
    fault: str = ""  # a fault to inflict on a responder mid-run (see shared/core/faults.py)
    service_time: str = ""  # each request's handling time (service_time.py)
    delay_ms: float | None = None  # a delaying relay before the response side
    responder_delay_ms: float | None = None  # ... and between the responders and the broker or server
    one_hop: bool = False  # the server answers every request itself, with no responders of their own
    local: bool = False  # a run's every hop over local sockets (the transport's), in a private folder
    payload: UserValues | None = None  # the user's values as the requests (--payload)
    settings: Settings | None = None  # the transport's own fields; its defaults when None

    def __post_init__(self) -> None:
        hello = self.example == "hello"
        fill = {"requests": HELLO_REQUESTS if hello else ROUTER_REQUESTS,
                "requesters": 1 if hello else ROUTER_ROLES,
                "responders": (1 if hello else ROUTER_ROLES) if self.alone.responders and not self.one_hop else 0,
                "codec": self.transport.default_codec, "settings": self.transport.settings_type()}
        for name, value in fill.items():
            if getattr(self, name) in (None, ""):
                object.__setattr__(self, name, value)
        if self.address:
            object.__setattr__(self, "address", self.transport.parse_address(self.address))
        if self.payload is not None and self.workload == "echo":  # echo's suffix means nothing for values
            object.__setattr__(self, "workload", "mirror")
        self._check()
        self.settings.check(self)

    def _check(self) -> None:
        choose("--example", self.example, EXAMPLES)
        choose("--concurrency", self.concurrency, CONCURRENCY)
        choose("--workload", self.workload, tuple(WORKLOADS))
        if self.part in ("run", "request"):
            check_counts(self.requests, self.requesters)
        if self.responders < 0 or (self.responders == 0 and self.needs_responders):
            raise UsageError(f"--responders must be a positive number, not {self.responders}")
        if self.example == "hello" and (self.requesters != 1 or self.responders > 1):
            raise UsageError("the hello example is one requester and one responder: use --example router for more")
        check_timeout(self.timeout)
        if not 0 <= self.retries <= MAX_RETRIES:
            raise UsageError(f"--retries must be from 0 to {MAX_RETRIES}, not {self.retries}")
        if self.window < 1:
            raise UsageError(f"--window must be 1 or more, not {self.window}")
        if self.rate < 0:
            raise UsageError(f"--rate must be a positive number of requests per second, not {self.rate}")
        if self.rate and self.window != 1:
            raise UsageError("--rate sends on a schedule whatever the replies do, --window keeps a number of requests "
                             "in flight: give one or the other")
        self._check_payload()
        self._check_one_hop()
        self._check_faults()
        codecs = self.transport.codecs
        if self.codec not in codecs:
            raise UsageError(f"unknown codec {self.codec!r} for {self.transport.name}: choose one of "
                             f"{', '.join(codecs)}")

    def _check_payload(self) -> None:
        if self.payload_bytes < 0:
            raise UsageError(f"--payload-bytes must be zero or more, not {self.payload_bytes}")
        if self.payload is not None and self.workload != "mirror":
            raise UsageError(f"--payload replaces the echo workload's requests: not with --workload {self.workload}")
        if self.payload is not None and self.payload_bytes:
            raise UsageError("--payload-bytes pads the seed's text, --payload sends your values: give one or the other")
        if self.payload_bytes and self.workload != "echo":
            raise UsageError("--payload-bytes pads the echo workload's text: use it with --workload echo")

    def _check_faults(self) -> None:
        """--fault, the delays (relays of TCP: not with --local) and --service-time."""
        if self.fault:
            parse_fault(self.fault, self.responders)
            if self.part != "run" or self.concurrency != "processes":
                raise UsageError("--fault signals a responder's process: it needs a run with --concurrency processes")
        for flag, delay in (("--delay", self.delay_ms), ("--responder-delay", self.responder_delay_ms)):
            if delay is not None and not 0 <= delay < math.inf:
                raise UsageError(f"{flag} must be zero or more milliseconds, not {delay}")
        if self.local and not self.transport.local_sockets:
            raise UsageError(f"--local: {self.transport.name} has no local sockets, only TCP")
        if self.local and (self.delay_ms is not None or self.responder_delay_ms is not None):
            raise UsageError("--delay and --responder-delay relay TCP connections: not with --local")
        if self.service_time:
            self._check_service_time()

    def _check_service_time(self) -> None:
        service = parse_service_time(self.service_time)
        if self.workload == "mirror":
            raise UsageError("--service-time paces the echo and rpc workloads: use it with --workload echo or rpc")
        if self.part == "run" and service.seconds >= self.timeout:
            raise UsageError(f"--service-time {self.service_time}: requests that take {service.seconds:g} s would "
                             f"each wait out --timeout ({self.timeout:g} s) and be sent again")

    def _check_one_hop(self) -> None:
        """--one-hop: the server answers every request in its own process; what concerns separate responders
        does not apply."""
        if not self.one_hop:
            return
        if not self.transport.one_hop_shape:
            raise UsageError(f"{self.transport.name} has no one-hop shape: leave out --one-hop")
        if self.example == "hello":
            raise UsageError("--one-hop is a shape of the router example: the hello example has no broker already")
        refused = [flag for flag, given in (("--responders", self.responders), ("--fault", self.fault),
                                            ("--service-time", self.service_time),
                                            ("--responder-delay", self.responder_delay_ms is not None)) if given]
        if refused:
            raise UsageError(f"{' and '.join(refused)} concern{'s' if len(refused) == 1 else ''} separate "
                             f"responders: with --one-hop the server answers every request itself")

    def with_(self, **changes) -> RunConfig:
        return replace(self, **changes)

    def parameters(self) -> dict:
        """The user-visible parameters, for reports and JSON (never a key)."""
        common = {each.name: getattr(self, each.name) for each in dataclasses.fields(self)
                  if each.name not in ("transport", "settings")}
        common["payload"] = self.payload.source if self.payload is not None else ""
        recorded = {"transport": self.transport.name, **common, **self.settings.public()}
        return recorded | {"described": self.settings.described(recorded)}

    @property
    def alone(self) -> Part:
        """The roles this part starts: a run all, a request side none, a tandem part what its transport says."""
        if self.part == "run":
            return Part("run")
        if self.part == "request":
            return Part("request", server=False, responders=False)
        return self.transport.parts.get(self.part, Part(self.part))

    @property
    def needs_responders(self) -> bool:
        """Whether this part must start a responder: a run, or responders alone (a server may serve alone)."""
        return self.alone.responders and not self.one_hop and (self.part == "run" or not self.alone.server)

    @property
    def lockstep(self) -> bool:
        """One request at a time, the next sent when the reply came."""
        return self.window == 1 and not self.rate

    @property
    def handshake_seconds(self) -> float:
        """The deadline on reaching a peer: the timeout, but no less than RUN_HANDSHAKE_SECONDS in a run."""
        return max(self.timeout, RUN_HANDSHAKE_SECONDS) if self.part == "run" else self.timeout

    @property
    def attempts(self) -> int:
        return self.retries + 1

    def share(self, requester_id: int) -> int:
        """How many of the requests requester `requester_id` sends (the first ones take the remainder)."""
        base, extra = divmod(self.requests, self.requesters)
        return base + (1 if requester_id < extra else 0)

    def role(self, kind: str) -> str:
        """A role's name in logs, reports and process titles: 'zmq responder 3'."""
        return f"{self.transport.name} {kind}"

    @property
    def server_role(self) -> str:
        """What this run's server is called: the transport's word ("broker"), or "server" in one hop."""
        return "server" if self.one_hop else self.transport.server_role


def counted(number: int, noun: str) -> str:
    """'1 responder', '5 responders', '2,000 requests': a count as reports and announcements say it."""
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def choose(flag: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise UsageError(f"{flag} must be one of {', '.join(choices)}, not {value!r}")


def check_counts(requests: int, requesters: int) -> None:
    if requests <= 0:
        raise UsageError(f"--requests must be a positive number, not {requests}")
    if requests > MAX_REQUESTS:  # nothing else bounds it: a requester's memory does not grow with its share
        raise UsageError(f"--requests must be at most {MAX_REQUESTS:,} (requests are numbered in 64 bits), "
                         f"not {requests:,}")
    if requesters <= 0:
        raise UsageError(f"--requesters must be a positive number, not {requesters}")
    if requesters > requests:
        raise UsageError(f"--requesters ({requesters}) cannot exceed --requests ({requests})")


def check_timeout(timeout: float) -> None:
    if not MIN_TIMEOUT <= timeout < math.inf:  # an infinite one would leave a lost reply waited for forever
        raise UsageError(f"--timeout must be a positive number of seconds, at least {MIN_TIMEOUT:g}, not {timeout}")
