"""The ZeroMQ variant as the core sees it: one object that fulfils shared/core/transport.py's contract."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import math
import os
import re
import uuid
from collections.abc import Iterator
from importlib import metadata

import zmq

from shared.core.config import IN_ONE_PROCESS, NOT_RECORDED, RunConfig, counted, free_port
from shared.core.errors import UsageError
from shared.core.transport import EVERY_STUDY, LOOPBACK, BenchPath, ExtraCommand, Settings, Transport, option
from shared.core.workload import ECHO_SUFFIX
from zmq_impl import codec, connection, request_router, requester, responder, server, tasks
from zmq_impl.connection import ZERO_COPY_BYTES
from zmq_impl.curve import create_keys, keys_for_a_run, security

DEFAULT_FRONT = "tcp://127.0.0.1:1337"  # the seed's address
DEFAULT_BACK = "tcp://127.0.0.1:1338"  # where a broker started alone meets its responders
DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024
ENVELOPE_BYTES = 64  # what a codec adds to a text, at most: msgpack's str32 header 5, pickle's framing about 20
BROKERS = ("proxy", "balancing")
DEFAULT_HEARTBEAT, DEFAULT_LIVENESS = 1.0, 3  # the zguide's Paranoid Pirate: a peer is lost after 3 s of silence
MAKE_KEYS = "(made for this run)"  # `--curve` with no folder: keys made for a run on this machine
_TCP_ENDPOINT = re.compile(r"^tcp://(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.*-]+):(\d{1,5})$")


@dataclasses.dataclass(frozen=True)
class ZmqSettings(Settings):
    back_address: str = DEFAULT_BACK  # where the broker meets its responders
    curve: str = ""  # the folder of `reqrep zmq keys`, or MAKE_KEYS; empty: no encryption
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES  # a peer that sends more is disconnected
    shared_connection: bool = False  # requesters reach the broker over one connection, through a local router
    router_address: str = ""  # with shared_connection: where that router meets the requesters (set by the run)
    broker: str = "proxy"  # proxy: the seed's zmq.proxy, pushing; balancing: requests for free responders only
    heartbeat: float = DEFAULT_HEARTBEAT  # balancing: seconds between heartbeats when there is nothing else to say
    liveness: int = DEFAULT_LIVENESS  # balancing: heartbeats missed before a peer is presumed lost
    zero_copy_above: int | None = ZERO_COPY_BYTES  # frames this large or larger are sent uncopied; None: never

    def check(self, config: RunConfig) -> None:
        self.check_broker(config)
        if self.max_message_bytes <= 0:
            raise UsageError(f"--max-message-bytes must be a positive number, not {self.max_message_bytes}")
        if self.zero_copy_above is not None and self.zero_copy_above < 0:
            raise UsageError(f"--zero-copy-above must be zero or more bytes, or off, not {self.zero_copy_above}")
        if self.back_address.startswith("tcp://"):
            TRANSPORT.parse_address(self.back_address)
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
        secured = {"security": security(parameters)}
        if parameters.get("part") == "request" or parameters.get("example") == "hello":
            return secured
        return {"broker": parameters.get("broker", NOT_RECORDED)} | secured


def zero_copy_bytes(text: str) -> int | None:
    """--zero-copy-above: a size in bytes, or `off` (None: every frame copied)."""
    if text == "off":
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of bytes or off, not {text!r}") from None


def _keys(values: dict) -> list[str]:
    made = create_keys(values["folder"], force=values["force"])
    folder = values["folder"]
    return [*made, f"the broker uses {folder}/server.key_secret, and admits the requesters' public keys in "
                   f"{folder}/authorized/ at its front and the responders' in {folder}/responders/ at its "
                   f"back; a requester uses client.key_secret and server.key, a responder "
                   f"responder.key_secret and server.key"]


ALL_SIDES = "run compare serve broker responders request"
SENDING_SIDES = "run compare serve responders request"  # the requesters and responders: the broker sends in C
BROKER_SIDES = "run compare serve broker responders"  # responders speak the protocol of the broker they serve


def endpoint(host: str, port: int) -> str:
    return f"tcp://{f'[{host}]' if ':' in host else host}:{port}"


def internal_back(config: RunConfig, host: str = LOOPBACK) -> str:
    """Where a broker meets responders started with it: threads and asyncio tasks share one context, so
    inproc, as the seed's places did; processes need TCP, on a free port of the loopback `host`."""
    if config.concurrency in IN_ONE_PROCESS:
        return f"inproc://reqrep-responders-{uuid.uuid4().hex}"
    return endpoint(host, free_port(host))


class ZmqTransport(Transport):
    name = "zmq"
    title = "ZeroMQ: msgpack frames through a zmq.proxy broker (ROUTER in front, DEALER behind) to REP responders"
    server_role = "broker"
    settings_type = ZmqSettings
    thread_kinds = (("zmq proxy", "broker's zmq.proxy"), ("ZMQbg/IO", "libzmq I/O"),
                    ("ZMQbg/Reaper", "libzmq reaper"), ("zmq peer watch", "peer watch"))
    codecs = codec.CODECS
    default_codec = codec.DEFAULT_CODEC
    codec_help = ("msgpack (default), msgpack-ext (msgpack with extension types for tuple, set, datetime, "
                  "Decimal ...), raw (the seed's UTF-8 frames) or pickle (to tell the encoding's cost from the "
                  "transport's; never where strangers can send)")
    semantics_codecs = ("msgpack", "msgpack-ext")
    options = (
        option("--front", dest="address", parts="serve broker request", metavar="ADDRESS", default=DEFAULT_FRONT,
               help=f"the broker's front: where requesters connect (default {DEFAULT_FRONT})"),
        option("--back", dest="back_address", parts="broker responders", metavar="ADDRESS", default=DEFAULT_BACK,
               help=f"the broker's back: where responders connect (default {DEFAULT_BACK})"),
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
    parts = {"serve": "the response side: broker and responders",
             "broker": "the broker alone: ROUTER, zmq.proxy, DEALER (or, with --broker balancing, ROUTER, a loop "
                       "that hands requests to free responders, ROUTER)",
             "responders": "responders alone, for a running broker"}
    commands = (ExtraCommand("keys", "create CURVE key pairs in DIR: the broker's, the requesters' and the "
                                     "responders'", (
        option("folder", parts="keys", metavar="DIR", help="the folder to write the keys into (created)"),
        option("--force", parts="keys", action="store_true", help="replace keys that are there already"),
    ), _keys),)
    examples = ("reqrep zmq serve --front tcp://0.0.0.0:1337 --responders 5",
                "reqrep zmq request --front tcp://server.example:1337 --requests 10000",
                "reqrep zmq broker --front tcp://0.0.0.0:1337 --back tcp://0.0.0.0:1338",
                "reqrep zmq responders --back tcp://server.example:1338 --responders 5",
                "reqrep zmq keys keys && reqrep zmq serve --curve keys")
    bench_paths = (
        BenchPath("zmq", "zmq", "msgpack", description=title, pushes=True),
        BenchPath("zmq-shared", "zmq", "msgpack", {"shared_connection": True}, studies=("delay",), pushes=True,
                  description="zmq, every requester reaching the broker over one connection through a local request "
                              "router (`--shared-connection`)"),
        BenchPath("zmq-balancing", "zmq", "msgpack", {"broker": "balancing"}, studies=("faults",),
                  description="zmq with the zguide's load-balancing broker (`--broker balancing`): a request goes "
                              "only to a responder that said it is free, and heartbeats drop a silent one"),
        # The ndarray study's: msgpack-ext carries arrays (plain msgpack cannot), with zero-copy sends from the
        # default size on, for every frame, and for none. The first also carries the user's values where msgpack
        # cannot (the values study, bench --payload).
        BenchPath("zmq-ext", "zmq", "msgpack-ext", studies=("ndarray", "values"), pushes=True,
                  description=f"zmq with msgpack-ext, an array as its dtype, shape and raw bytes (`--codec "
                              f"msgpack-ext`), frames of {ZERO_COPY_BYTES // 1024} KiB or more sent without a copy"),
        BenchPath("zmq-ext-zero-copy", "zmq", "msgpack-ext", {"zero_copy_above": 0}, studies=("ndarray",), pushes=True,
                  description="the same, every frame sent without a copy (`--zero-copy-above 0`)"),
        BenchPath("zmq-ext-copy", "zmq", "msgpack-ext", {"zero_copy_above": None}, studies=("ndarray",), pushes=True,
                  description="the same, every frame copied into libzmq's message (`--zero-copy-above off`)"),
    )
    def paths_for_bench(self, values) -> tuple[BenchPath, ...]:
        """bench_paths, or with --broker each path behind each broker given: under its own name behind the
        first, as `reqrep run zmq --broker B` runs it, and behind a second as its twin PATH-balancing, which
        runs wherever it does. The fault studies' own balancing path goes: the brokers given say it all."""
        brokers = list(dict.fromkeys(values.get("broker") or ()))
        if not brokers:
            return self.bench_paths
        first, *others = brokers
        paths = [path for path in self.bench_paths if "broker" not in path.settings]
        return (*(behind(path, first) for path in paths),
                *(behind(path, broker, twin=True) for broker in others for path in paths))

    codec_passes = 2  # the requester's request and the responder's reply: the broker forwards frames unread
    # The semantics table shows what each encoding does with a 64 MiB value, not the safety limit on message
    # size that a broker applies by default.
    semantics_settings = {"max_message_bytes": 256 * 1024 * 1024}

    # ---- addresses ---------------------------------------------------------------------------------------
    def parse_address(self, text: str) -> str:
        """tcp://HOST:PORT: the only zmq transport that crosses processes and hosts."""
        match = _TCP_ENDPOINT.match(text)
        if not match or int(match.group(2)) > 65535:
            raise UsageError(f"malformed address {text!r}: expected tcp://HOST:PORT, for example {DEFAULT_FRONT}")
        return text

    def host_port(self, address: str) -> tuple[str, int]:
        host, port = address.removeprefix("tcp://").rsplit(":", 1)
        return host.strip("[]"), int(port)

    def address_for(self, host: str, port: int) -> str:
        return endpoint(host, port)

    @contextlib.contextmanager
    def loopback(self, config: RunConfig, host: str = LOOPBACK) -> Iterator[RunConfig]:
        """Free loopback ports; threads and asyncio tasks share one context, so their broker meets its
        responders on inproc, as the seed's places did. With `--curve` alone, keys made for the run."""
        back = internal_back(config, host)
        keys = keys_for_a_run() if config.settings.curve == MAKE_KEYS else contextlib.nullcontext(config.settings.curve)
        with keys as curve:
            settings = dataclasses.replace(config.settings, back_address=back, curve=curve)
            yield config.with_(address=endpoint(host, free_port(host)), settings=settings)

    def responders_reach(self, config: RunConfig) -> str:
        if not self.needs_server(config):
            raise UsageError("the hello example has no broker: its responder binds the front, where the requester "
                             "connects")
        if not config.settings.back_address.startswith("tcp://"):
            raise UsageError(f"with --concurrency {config.concurrency} the zmq responders meet their broker "
                             f"in-process (inproc://): use --concurrency processes")
        return config.settings.back_address

    def responders_via(self, config: RunConfig, address: str) -> RunConfig:
        return config.with_(settings=dataclasses.replace(config.settings, back_address=address))

    def serving(self, config: RunConfig) -> RunConfig:
        """`zmq serve` starts the broker and its responders together: their back is theirs alone, on a free
        loopback port (inproc for threads and tasks), never the default that a `zmq broker` would use."""
        return config.with_(settings=dataclasses.replace(config.settings, back_address=internal_back(config)))

    def announcement(self, config: RunConfig, part: str) -> str:
        back, kind = config.settings.back_address, config.settings.broker
        broker = "balancing broker" if kind == "balancing" else "broker"
        responders = counted(config.responders, "responder")
        return {"serve": f"serving on {config.address} with {responders} behind a {kind} broker",
                "broker": f"{broker} serving on {config.address}, responders on {back}",
                "responders": f"{responders} serving for the {broker} at {back}"}[part]

    # ---- roles -------------------------------------------------------------------------------------------
    def needs_server(self, config: RunConfig) -> bool:
        return config.example == "router"  # example 1 (hello) has no broker: the responder binds the front

    serve = staticmethod(server.serve)
    respond = staticmethod(responder.respond)
    respond_async = staticmethod(tasks.respond)
    request = staticmethod(requester.request)
    request_async = staticmethod(tasks.request)
    deliver = staticmethod(requester.deliver)
    stop_threads = staticmethod(server.stop_threads)
    stop_requesters = staticmethod(connection.stop_requesters)
    wire_bytes = staticmethod(codec.wire_bytes)

    def request_router(self, config: RunConfig):
        if not config.settings.shared_connection:
            return None
        routed = config.with_(settings=dataclasses.replace(config.settings,
                                                           router_address=request_router.local_address()))
        return request_router.serve, (routed,), routed

    # ---- reports -----------------------------------------------------------------------------------------
    payload_codec = staticmethod(codec.payload_codec)

    def versions(self) -> dict[str, str]:
        return {"pyzmq": zmq.__version__, "libzmq": zmq.zmq_version(), "msgpack": metadata.version("msgpack")}


def behind(path: BenchPath, broker: str, *, twin: bool = False) -> BenchPath:
    """`path` with its requests through `broker`; a twin is named for the broker, and runs where the path does."""
    if broker == "proxy" and not twin:
        return path
    changes: dict = {"settings": {**path.settings, "broker": broker}, "pushes": broker == "proxy",
                     "description": f"{path.description}; behind the {broker} broker (`--broker {broker}`)"}
    if twin:
        changes |= {"name": f"{path.name}-{broker}", "studies": (*path.studies, *((EVERY_STUDY,) * path.plain))}
    return dataclasses.replace(path, **changes)


TRANSPORT = ZmqTransport()
