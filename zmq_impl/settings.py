"""The ZeroMQ variant's own fields of a run's configuration, their checks, and the flags that set them."""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import re

from shared.core.config import NOT_RECORDED, RunConfig, Settings
from shared.core.errors import UsageError
from shared.core.flags import option
from shared.core.local import checked_path
from shared.core.workload import ECHO_SUFFIX
from zmq_impl import codec
from zmq_impl.addresses import INPROC, local_path
from zmq_impl.connection import ZERO_COPY_BYTES
from zmq_impl.curve import security

DEFAULT_FRONT = "tcp://127.0.0.1:1337"  # the seed's address
DEFAULT_BACK = "tcp://127.0.0.1:1338"  # where a broker started alone meets its responders
DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024
ENVELOPE_BYTES = 64  # a codec's overhead on a text, at most (msgpack 5, pickle ~20)
BROKERS = ("proxy", "balancing")
DEFAULT_HEARTBEAT, DEFAULT_LIVENESS = 1.0, 3  # the Paranoid Pirate's: lost after 3 s of silence
MAKE_KEYS = "(made for this run)"  # `--curve` with no folder: keys made for a run on this machine
_TCP_ENDPOINT = re.compile(r"^tcp://(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.*-]+):(\d{1,5})$")


@dataclasses.dataclass(frozen=True)
class ZmqSettings(Settings):
    back_address: str = DEFAULT_BACK  # where the broker meets its responders
    curve: str = ""  # the folder of `reqrep zmq keys`, or MAKE_KEYS; empty: no encryption
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES  # a peer that sends more is disconnected
    shared_connection: bool = False  # requesters reach the broker over one connection, through a local router
    router_address: str = ""  # with shared_connection: the router's (set by the run)
    broker: str = "proxy"  # proxy: zmq.proxy, pushing; balancing: to free responders
    heartbeat: float = DEFAULT_HEARTBEAT  # balancing: seconds between heartbeats of an idle peer
    liveness: int = DEFAULT_LIVENESS  # balancing: heartbeats missed before a peer is presumed lost
    zero_copy_above: int | None = ZERO_COPY_BYTES  # frames this large or more sent uncopied; None: never

    def check(self, config: RunConfig) -> None:
        self.check_broker(config)
        if self.max_message_bytes <= 0:
            raise UsageError(f"--max-message-bytes must be a positive number, not {self.max_message_bytes}")
        if self.zero_copy_above is not None and self.zero_copy_above < 0:
            raise UsageError(f"--zero-copy-above must be zero or more bytes, or off, not {self.zero_copy_above}")
        parse_endpoint(self.back_address)
        # A tandem command's addresses reach other processes; serve's own back is inproc for threads and tasks.
        given = (config.address, *((self.back_address,) if config.part != "serve" else ()))
        if config.part != "run" and any(address.startswith(INPROC) for address in given):
            raise UsageError("inproc:// reaches the roles of one process only: a tandem command takes tcp:// or "
                             "ipc://")
        # A broker that is a thread of the roles' process hangs a run under CURVE, and ends a serve with the
        # authenticator's tracebacks; requesters and responders alone are clients, and need no authenticator.
        if self.curve and config.part in ("run", "serve") and config.concurrency != "processes":
            raise UsageError(f"--curve {'runs' if config.part == 'run' else 'serves'} with --concurrency processes")
        if self.curve == MAKE_KEYS and config.part != "run":
            raise UsageError("--curve needs the folder of `reqrep zmq keys DIR` here: --curve DIR")
        if self.curve and self.curve != MAKE_KEYS and not os.path.isdir(self.curve):
            raise UsageError(f"no CURVE key folder at {self.curve} (create one with `reqrep zmq keys {self.curve}`)")
        if config.codec == "raw" and not config.lockstep:
            raise UsageError("--window and --rate need numbered requests: the raw codec has no room for the number")
        if config.codec == "raw" and config.workload != "echo":
            raise UsageError("the raw codec carries the seed's text frames only: use it with --workload echo")
        self.check_payload_bytes(config)

    def check_payload_bytes(self, config: RunConfig) -> None:
        """A padded request whose reply (the request and " - echoed!") would exceed --max-message-bytes gets
        its sender disconnected, and the run would only time out: refused before it starts."""
        largest = config.payload_bytes + len(ECHO_SUFFIX) + codec.ID_BYTES + ENVELOPE_BYTES
        if config.payload_bytes and largest > self.max_message_bytes:
            raise UsageError(f"--payload-bytes {config.payload_bytes:,} makes replies of about {largest:,} bytes, "
                             f"more than --max-message-bytes ({self.max_message_bytes:,}), for which a peer is "
                             f"disconnected: raise --max-message-bytes on every side, or pad less")

    def check_broker(self, config: RunConfig) -> None:
        if self.broker not in BROKERS:
            raise UsageError(f"--broker must be one of {', '.join(BROKERS)}, not {self.broker!r}")
        if config.one_hop and self.broker != "proxy":
            raise UsageError("--broker chooses how a broker hands requests to responders: with --one-hop the "
                             "server answers them itself")
        if self.broker == "proxy" and (self.heartbeat, self.liveness) != (DEFAULT_HEARTBEAT, DEFAULT_LIVENESS):
            raise UsageError("--heartbeat and --liveness pace a balancing broker and its responders: use them with "
                             "--broker balancing")
        if self.broker == "balancing" and config.example == "hello":
            raise UsageError("the hello example has no broker: --broker balancing needs --example router")
        if not 0 < self.heartbeat < math.inf:
            raise UsageError(f"--heartbeat must be a positive number of seconds, not {self.heartbeat}")
        if self.liveness < 1:
            raise UsageError(f"--liveness must be 1 or more, not {self.liveness}")

    def public(self) -> dict:
        fields = dataclasses.asdict(self)
        fields.pop("router_address")  # a loopback port of the moment, internal to the request side
        return fields

    @classmethod
    def described(cls, parameters: dict) -> dict[str, str]:
        # A request side knows only the address it sends to (one REP socket there looks the same), and the
        # hello example, the seed's example 1, has no broker.
        secured = {"sockets": sockets(parameters.get("address", "")), "security": security(parameters)}
        if parameters.get("part") == "request" or parameters.get("example") == "hello":
            return secured
        if parameters.get("one_hop"):
            return {"broker": "none: one hop, a ROUTER answers in place"} | secured
        return {"broker": parameters.get("broker", NOT_RECORDED)} | secured


def sockets(address: str) -> str:
    """What the requesters' hop is made of, by its address: tcp, ipc (a socket file) or inproc."""
    return address.split("://", 1)[0] if "://" in address else NOT_RECORDED


def zero_copy_bytes(text: str) -> int | None:
    """--zero-copy-above: a size in bytes, or `off` (None: every frame copied)."""
    if text == "off":
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of bytes or off, not {text!r}") from None

def parse_endpoint(text: str) -> str:
    """tcp://HOST:PORT, which crosses hosts, ipc:///PATH, a socket file on this one, or inproc://NAME, between
    the roles of a run in one process."""
    path = local_path(text)
    if path is not None:
        checked_path(path, text)
        return text
    if text.startswith(INPROC) and len(text) > len(INPROC):  # a run's own, between roles in one process
        return text
    match = _TCP_ENDPOINT.match(text)
    if not match or int(match.group(2)) > 65535:
        hint = ": unix:/PATH is a native address, zmq's is ipc:///PATH" if text.startswith("unix:") else ""
        raise UsageError(f"malformed address {text!r}: expected tcp://HOST:PORT, for example {DEFAULT_FRONT}, or "
                         f"ipc:///PATH{hint}")
    return text


ALL_SIDES = "run compare serve broker responders request"
SENDING_SIDES = "run compare serve responders request"  # the requesters and responders: the broker sends in C
BROKER_SIDES = "run compare serve broker responders"  # responders speak the protocol of the broker they serve
OPTIONS = (
    option("--front", dest="address", parts="serve broker request", metavar="ADDRESS", default=DEFAULT_FRONT,
           help=f"the broker's front: where requesters connect, tcp://HOST:PORT or a socket file on this host, "
                f"ipc:///PATH (default {DEFAULT_FRONT})"),
    option("--back", dest="back_address", parts="broker responders", metavar="ADDRESS", default=DEFAULT_BACK,
           help=f"the broker's back: where responders connect, tcp://HOST:PORT or ipc:///PATH (default "
                f"{DEFAULT_BACK})"),
    option("--curve", parts=ALL_SIDES, metavar="DIR", nargs="?", const=MAKE_KEYS, default="",
           help="CURVE encryption, and clients admitted by their keys: the keys of `reqrep zmq keys DIR`; in "
                "run and compare, --curve alone makes keys for the run"),
    option("--max-message-bytes", parts=ALL_SIDES, type=int, metavar="N", default=DEFAULT_MAX_MESSAGE_BYTES,
           help=f"a peer that sends a larger message is disconnected (default {DEFAULT_MAX_MESSAGE_BYTES // 2**20} "
                f"MiB)"),
    option("--shared-connection", parts="run compare request", action="store_true",
           help="all requesters reach the broker over one TCP connection, through a local request router (as "
                "the seed's request-router did)"),
    option("--broker", parts=BROKER_SIDES, choices=BROKERS, default="proxy",
           help="proxy: the seed's zmq.proxy, whose DEALER pushes requests to the responders in turn, hung or "
                "not (default); balancing: the zguide's load-balancing broker, which hands a request only to a "
                "responder that said it is free, and drops a silent one, or one that kept a request past "
                "--timeout (a broker and its responders need the same)"),
    option("--broker", parts="bench", action="append", choices=BROKERS, default=None,
           help="the zmq paths of every study behind this broker: proxy (the seed's zmq.proxy) or balancing "
                "(the load-balancing broker); given twice, each zmq path runs behind the first under its own "
                "name and behind the second as PATH-BROKER, zmq-balancing say (default: proxy, and the "
                "balancing broker beside it in the fault studies)"),
    option("--heartbeat", parts=BROKER_SIDES, type=float, metavar="S", default=DEFAULT_HEARTBEAT,
           help=f"with --broker balancing: seconds between heartbeats of a broker and a responder that have "
                f"nothing else to say (default {DEFAULT_HEARTBEAT:g})"),
    option("--liveness", parts=BROKER_SIDES, type=int, metavar="N", default=DEFAULT_LIVENESS,
           help=f"with --broker balancing: heartbeats missed before a peer is presumed lost and logged so; a "
                f"responder busy with one request for longer looks hung (default {DEFAULT_LIVENESS})"),
    option("--zero-copy-above", parts=SENDING_SIDES, type=zero_copy_bytes, metavar="BYTES|off",
           default=ZERO_COPY_BYTES,
           help=f"requesters and responders hand a frame of this many bytes or more to libzmq without copying "
                f"it, and copy a smaller one: a zero-copy send has a fixed cost that pays only for large frames "
                f"(default {ZERO_COPY_BYTES} bytes, 512 KiB; 0: every frame; off: none)"),
)
