"""The ZeroMQ variant as the core sees it: one object that fulfils shared/core/transport.py's contract."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import uuid
from collections.abc import Iterator
from importlib import metadata

import zmq

from shared.core.bench_paths import EVERY_STUDY, BenchPath
from shared.core.config import IN_ONE_PROCESS, LOOPBACK, RunConfig, counted
from shared.core.errors import UsageError
from shared.core.flags import ExtraCommand, Part, option
from shared.core.local import checked_path, private_folder, socket_file
from shared.core.ports import free_port
from shared.core.transport import Transport
from zmq_impl import codec, connection, one_hop, request_router, requester, responder, server, tasks
from zmq_impl.addresses import INPROC, IPC, local_path
from zmq_impl.connection import ZERO_COPY_BYTES
from zmq_impl.curve import create_keys, keys_for_a_run
from zmq_impl.settings import MAKE_KEYS, OPTIONS, ZmqSettings, parse_endpoint

BACK_SUFFIX = ".responders"  # `zmq serve --front ipc:///PATH`: its responders meet the broker at PATH.responders


def _keys(values: dict) -> list[str]:
    made = create_keys(values["folder"], force=values["force"])
    folder = values["folder"]
    return [*made, f"the broker uses {folder}/server.key_secret, and admits the requesters' public keys in "
                   f"{folder}/authorized/ at its front and the responders' in {folder}/responders/ at its "
                   f"back; a requester uses client.key_secret and server.key, a responder "
                   f"responder.key_secret and server.key"]


def endpoint(host: str, port: int) -> str:
    return f"tcp://{f'[{host}]' if ':' in host else host}:{port}"


def local_endpoint(config: RunConfig, folder: str, name: str) -> str:
    """Where a local run's roles meet at `name` (front, back, router): a socket file in its private folder,
    ipc://, or between roles that share one context (threads and asyncio tasks) inproc, which is faster
    still (threads: 1.9x tcp's throughput against ipc's 1.26x; asyncio tasks: 1.45x against 1.24x)."""
    if config.concurrency in IN_ONE_PROCESS:
        return f"{INPROC}reqrep-{name}-{uuid.uuid4().hex}"
    return f"{IPC}{socket_file(folder, name)}"


def internal_back(config: RunConfig, host: str = LOOPBACK) -> str:
    """Where a broker meets responders started with it: threads and asyncio tasks share one context, so
    inproc, as the seed's places did; processes need TCP, on a free port of the loopback `host`."""
    if config.concurrency in IN_ONE_PROCESS:
        return f"{INPROC}reqrep-responders-{uuid.uuid4().hex}"
    return endpoint(host, free_port(host))


class ZmqTransport(Transport):
    name = "zmq"
    title = "ZeroMQ: msgpack frames through a zmq.proxy broker (ROUTER in front, DEALER behind) to REP responders"
    server_role = "broker"
    place = 0
    settings_type = ZmqSettings
    local_sockets = True
    thread_kinds = (("zmq proxy", "broker's zmq.proxy"), ("ZMQbg/IO", "libzmq I/O"),
                    ("ZMQbg/Reaper", "libzmq reaper"), ("zmq peer watch", "peer watch"))
    codecs = codec.CODECS
    default_codec = codec.DEFAULT_CODEC
    codec_help = ("msgpack (default), msgpack-ext (msgpack with extension types for tuple, set, datetime, "
                  "Decimal ...), raw (the seed's UTF-8 frames) or pickle (to tell the encoding's cost from the "
                  "transport's; never where strangers can send)")
    semantics_codecs = ("msgpack", "msgpack-ext")
    options = OPTIONS
    parts = {"serve": Part("the response side: broker and responders"),
             "broker": Part("the broker alone: ROUTER, zmq.proxy, DEALER (or, with --broker balancing, ROUTER, a "
                            "loop that hands requests to free responders, ROUTER)", responders=False),
             "responders": Part("responders alone, for a running broker", server=False)}
    commands = (ExtraCommand("keys", "create CURVE key pairs in DIR: the broker's, the requesters' and the "
                                     "responders'", (
        option("folder", parts="keys", metavar="DIR", help="the folder to write the keys into (created)"),
        option("--force", parts="keys", action="store_true", help="replace keys that are there already"),
    ), _keys),)
    examples = ("reqrep zmq serve --front tcp://0.0.0.0:1337 --responders 5",
                "reqrep zmq request --front tcp://server.example:1337 --requests 10000",
                "reqrep zmq broker --front tcp://0.0.0.0:1337 --back tcp://0.0.0.0:1338",
                "reqrep zmq responders --back tcp://server.example:1338 --responders 5",
                "reqrep zmq keys keys && reqrep zmq serve --curve keys",
                "reqrep zmq serve --front ipc:///tmp/reqrep-front --responders 5")
    bench_paths = (
        BenchPath("zmq", "zmq", "msgpack", description=title, pushes=True),
        BenchPath("zmq-shared", "zmq", "msgpack", {"shared_connection": True}, studies=("delay",), pushes=True,
                  description="zmq, every requester reaching the broker over one connection through a local request "
                              "router (`--shared-connection`)"),
        BenchPath("zmq-balancing", "zmq", "msgpack", {"broker": "balancing"}, studies=("faults",),
                  description="zmq with the zguide's load-balancing broker (`--broker balancing`): a request goes "
                              "only to a responder that said it is free, and heartbeats drop a silent one"),
        # The ndarray study's: msgpack-ext (arrays) with zero-copy sends from the default size, for every
        # frame, and for none. The first also carries the values study's values (bench --payload).
        BenchPath("zmq-ext", "zmq", "msgpack-ext", studies=("ndarray", "values"), pushes=True,
                  description=f"zmq with msgpack-ext, an array as its dtype, shape and raw bytes (`--codec "
                              f"msgpack-ext`), frames of {ZERO_COPY_BYTES // 1024} KiB or more sent without a copy"),
        BenchPath("zmq-one-hop", "zmq", "msgpack", one_hop=True, studies=("peers",),
                  description="zmq in one hop (`--one-hop`): one ROUTER that answers every request in place, no "
                              "broker and no responders"),
        BenchPath("zmq-ext-zero-copy", "zmq", "msgpack-ext", {"zero_copy_above": 0}, studies=("ndarray",), pushes=True,
                  description="the same, every frame sent without a copy (`--zero-copy-above 0`)"),
        BenchPath("zmq-ext-copy", "zmq", "msgpack-ext", {"zero_copy_above": None}, studies=("ndarray",), pushes=True,
                  description="the same, every frame copied into libzmq's message (`--zero-copy-above off`)"),
    )
    def paths_for_bench(self, values) -> tuple[BenchPath, ...]:
        """bench_paths, or with --broker each path behind each broker given: under its own name behind the
        first, and behind a second as its twin PATH-BROKER; then the fault studies' balancing path goes."""
        brokers = list(dict.fromkeys(values.get("broker") or ()))
        if not brokers:
            return self.bench_paths
        first, *others = brokers
        paths = [path for path in self.bench_paths if "broker" not in path.settings and not path.one_hop]
        return (*(behind(path, first) for path in paths),
                *(behind(path, broker, twin=True) for broker in others for path in paths))

    codec_passes = 2  # the requester's request and the responder's reply: the broker forwards frames unread
    # The semantics table shows what each encoding does with a 64 MiB value, not the safety limit on message
    # size that a broker applies by default.
    semantics_settings = {"max_message_bytes": 256 * 1024 * 1024}

    # ---- addresses ---------------------------------------------------------------------------------------
    parse_address = staticmethod(parse_endpoint)

    def host_port(self, address: str) -> tuple[str, int]:
        if not address.startswith("tcp://"):
            raise UsageError(f"{address} is not a TCP address: it has no host and port")
        host, port = address.removeprefix("tcp://").rsplit(":", 1)
        return host.strip("[]"), int(port)

    def address_for(self, host: str, port: int) -> str:
        return endpoint(host, port)

    @contextlib.contextmanager
    def loopback(self, config: RunConfig, host: str = LOOPBACK) -> Iterator[RunConfig]:
        """Free loopback ports, or with `--local` socket files in a private folder; threads and asyncio tasks
        share one context, so their broker meets its responders on inproc, as the seed's places did. With
        `--curve` alone, keys made for the run."""
        keys = keys_for_a_run() if config.settings.curve == MAKE_KEYS else contextlib.nullcontext(config.settings.curve)
        folder = private_folder() if config.local else contextlib.nullcontext()
        with keys as curve, folder as local:  # the folder is kept for the request router's file
            if local:
                front, back = (local_endpoint(config, local, name) for name in ("front", "back"))
            else:
                front, back = endpoint(host, free_port(host)), internal_back(config, host)
            settings = dataclasses.replace(config.settings, back_address=back, curve=curve)
            yield config.with_(address=front, settings=settings)

    def responders_reach(self, config: RunConfig) -> str:
        if not self.needs_server(config):
            raise UsageError("the hello example has no broker: its responder binds the front, where the requester "
                             "connects")
        if config.settings.back_address.startswith("ipc://"):
            raise UsageError("with --local the zmq responders meet their broker over ipc://, not TCP")
        if not config.settings.back_address.startswith("tcp://"):
            raise UsageError(f"with --concurrency {config.concurrency} the zmq responders meet their broker "
                             f"in-process (inproc://): use --concurrency processes")
        return config.settings.back_address

    def responders_via(self, config: RunConfig, address: str) -> RunConfig:
        return config.with_(settings=dataclasses.replace(config.settings, back_address=address))

    def serving(self, config: RunConfig) -> RunConfig:
        """`zmq serve` starts the broker and its responders together: their back is theirs alone, never the
        default that a `zmq broker` would use: inproc for threads and tasks; for processes a socket file beside
        an ipc:// front's, or else a free loopback port."""
        front = local_path(config.address)
        if front is not None and config.concurrency not in IN_ONE_PROCESS:
            back = f"{IPC}{front}{BACK_SUFFIX}"
            checked_path(f"{front}{BACK_SUFFIX}", back)
        else:
            back = internal_back(config)
        return config.with_(settings=dataclasses.replace(config.settings, back_address=back))

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

    one_hop_shape = "one ROUTER that answers every request in place, in one thread"

    def serve(self, config: RunConfig, ready) -> None:
        (one_hop.serve if config.one_hop else server.serve)(config, ready)

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
        folder = os.path.dirname(config.settings.back_address.removeprefix(IPC))
        router = local_endpoint(config, folder, "router") if config.local else request_router.local_address()
        routed = config.with_(settings=dataclasses.replace(config.settings, router_address=router))
        return request_router.serve, (routed,), routed

    # ---- reports -----------------------------------------------------------------------------------------
    payload_codec = staticmethod(codec.payload_codec)

    def versions(self) -> dict[str, str]:
        return {"pyzmq": zmq.__version__, "libzmq": zmq.zmq_version(), "msgpack": metadata.version("msgpack")}


def behind(path: BenchPath, broker: str, *, twin: bool = False) -> BenchPath:
    """`path` with its requests through `broker`; a twin is named for the broker, and runs where the path
    does."""
    if broker == "proxy" and not twin:
        return path
    changes: dict = {"settings": {**path.settings, "broker": broker}, "pushes": broker == "proxy",
                     "description": f"{path.description}; behind the {broker} broker (`--broker {broker}`)"}
    if twin:
        changes |= {"name": f"{path.name}-{broker}", "studies": (*path.studies, *((EVERY_STUDY,) * path.plain))}
    return dataclasses.replace(path, **changes)


TRANSPORT = ZmqTransport()
