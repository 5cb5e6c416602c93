"""The parameters of one run, shared by both transports, and the checks of user input."""

from __future__ import annotations

import os
import re
import secrets
import socket
import uuid
from dataclasses import asdict, dataclass, replace

EXAMPLES = ("hello", "router")
CONCURRENCY = ("processes", "threads", "asyncio")
IN_ONE_PROCESS = ("threads", "asyncio")  # every role in the process that starts them
WORKLOADS = ("echo", "rpc", "mirror")
HELLO_REQUESTS = 5  # the seed's example 1 sends five requests
DEFAULT_ZMQ_FRONT = "tcp://127.0.0.1:1337"  # the seed's address
DEFAULT_ZMQ_BACK = "tcp://127.0.0.1:1338"  # where a broker started alone meets its responders
DEFAULT_NATIVE_ADDRESS = "127.0.0.1:50000"
AUTHKEY_VARIABLE = "REQREP_AUTHKEY"
DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024
START_DEADLINE = 60.0  # seconds for every role of a run to be connected and ready

_TCP_ENDPOINT = re.compile(r"^tcp://(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.*-]+):(\d{1,5})$")
_HOST_PORT = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$")


class UsageError(Exception):
    """A mistake the user can fix; the command line prints it as one sentence and exits 2."""


class PeerLost(UsageError):
    """A role's broker or server went away while it served: one sentence, and the command exits 2."""


@dataclass(frozen=True)
class RunConfig:
    """Everything a role needs to know; picklable, so processes receive it as it is."""

    transport: str
    example: str = "router"
    requests: int = 100_000
    requesters: int = 5
    responders: int = 5
    concurrency: str = "processes"
    workload: str = "echo"
    codec: str = "msgpack"
    timeout: float = 10.0  # seconds to wait for a reply before sending the request again
    retries: int = 3  # times a request is sent again before the server is presumed down
    address: str = ""  # where requesters connect (zmq endpoint, or HOST:PORT for native)
    back_address: str = ""  # zmq only: where the broker meets its responders
    authkey: bytes = b""  # native only
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES  # zmq: larger messages are refused at the socket
    curve_dir: str = ""  # zmq: CURVE keys (see `reqrep zmq keys`); empty: no encryption
    window: int = 1  # requests in flight per requester (closed loop); 1 is the seed's lockstep
    rate: float = 0.0  # requests per second in all, sent on schedule (open loop); 0: closed loop
    payload_bytes: int = 0  # size of each echo request's text (0: the seed's "Hello, <id> <n>")
    record_latency: bool = True  # off only to measure what recording costs
    batch: bool = False  # native: move requests and replies in batches, one manager call each
    stock_managers: bool = False  # native: the stock connections, without TCP_NODELAY
    shared_connection: bool = False  # zmq requesters: one TCP connection to the broker, through a local proxy
    router_address: str = ""  # zmq, with shared_connection: where that proxy meets the requesters

    def with_(self, **changes) -> RunConfig:
        return replace(self, **changes)

    def parameters(self) -> dict:
        """The user-visible parameters, for reports and JSON (never the key)."""
        fields = asdict(self)
        fields.pop("authkey")
        fields.pop("router_address")  # a loopback port of the moment, internal to the request side
        return fields

    @property
    def lockstep(self) -> bool:
        """One request at a time, the next sent when the reply came: the seed's loop."""
        return self.window == 1 and not self.rate

    @property
    def attempts(self) -> int:
        return self.retries + 1

    def share(self, requester_id: int) -> int:
        """How many of the requests requester `requester_id` sends (the first ones take the remainder)."""
        base, extra = divmod(self.requests, self.requesters)
        return base + (1 if requester_id < extra else 0)


def check_counts(requests: int, requesters: int, responders: int, *, responders_may_be_zero=False) -> None:
    if requests <= 0:
        raise UsageError(f"--requests must be a positive number, not {requests}")
    if requesters <= 0:
        raise UsageError(f"--requesters must be a positive number, not {requesters}")
    if responders < 0 or (responders == 0 and not responders_may_be_zero):
        raise UsageError(f"--responders must be a positive number, not {responders}")
    if requesters > requests:
        raise UsageError(f"--requesters ({requesters}) cannot exceed --requests ({requests})")


def check_timeout(timeout: float) -> None:
    if not timeout > 0:
        raise UsageError(f"--timeout must be a positive number of seconds, not {timeout}")


def parse_zmq_endpoint(text: str) -> str:
    """Accept tcp://HOST:PORT (the only transport that crosses processes and hosts)."""
    match = _TCP_ENDPOINT.match(text)
    if not match or int(match.group(2)) > 65535:
        raise UsageError(f"malformed address {text!r}: expected tcp://HOST:PORT, for example {DEFAULT_ZMQ_FRONT}")
    return text


def parse_host_port(text: str) -> tuple[str, int]:
    match = _HOST_PORT.match(text)
    if not match or int(match.group(2)) > 65535:
        raise UsageError(f"malformed address {text!r}: expected HOST:PORT, for example {DEFAULT_NATIVE_ADDRESS}")
    return match.group(1).strip("[]"), int(match.group(2))


def endpoint_port(address: str) -> int:
    """The TCP port of a zmq endpoint or of HOST:PORT."""
    return int(address.rsplit(":", 1)[1])


def free_port(host: str = "127.0.0.1") -> int:
    """A port that is free now; the caller binds it at once (as the floor does)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def load_authkey(path: str | None = None) -> bytes:
    """The native side's shared key: from a file if one is named, else from REQREP_AUTHKEY. Never from the
    command line, where `ps` would show it to everyone on the machine. There is no default key."""
    if path:
        try:
            with open(path, "rb") as source:
                key = source.read().strip()
        except OSError as error:
            raise UsageError(f"cannot read the key file {path}: {error.strerror}") from None
        if not key:
            raise UsageError(f"the key file {path} is empty")
        return key
    key = os.environ.get(AUTHKEY_VARIABLE, "")
    if not key:
        raise UsageError(f"{AUTHKEY_VARIABLE} is not set and no --authkey-file was given: the native server and "
                         f"its peers need a shared key")
    return key.encode()


def back_address(concurrency: str) -> str:
    """zmq: where the broker meets its responders. Threads and asyncio tasks share one context, so inproc,
    as the seed's places did; processes need TCP on loopback."""
    if concurrency in IN_ONE_PROCESS:
        return f"inproc://reqrep-responders-{uuid.uuid4().hex}"
    return f"tcp://127.0.0.1:{free_port()}"


def local_addresses(transport: str, concurrency: str) -> dict:
    """Free loopback ports for a run on this machine; for the native side, a random key for this run."""
    if transport == "native":
        return {"address": f"127.0.0.1:{free_port()}", "authkey": secrets.token_bytes(32)}
    return {"address": f"tcp://127.0.0.1:{free_port()}", "back_address": back_address(concurrency)}
