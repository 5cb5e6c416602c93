"""The Python-native variant as the core sees it: one object that fulfils shared/core/transport.py's contract.
"""

from __future__ import annotations

import contextlib
import dataclasses
import platform
import re
import secrets
from collections.abc import Iterator

from native_impl import codec, connection, one_hop, requester, responder, server, tasks
from native_impl.addresses import UNIX, local_path, manager_address
from native_impl.settings import DEFAULT_ADDRESS, DEFAULT_BATCH_SIZE, OPTIONS, NativeSettings
from shared.core.bench_paths import BenchPath
from shared.core.config import LOOPBACK, RunConfig, counted
from shared.core.errors import UsageError
from shared.core.flags import Part
from shared.core.local import checked_path, private_folder, socket_file
from shared.core.ports import free_port
from shared.core.results import RequesterResult
from shared.core.transport import Transport

NAGLE_STALL_BYTES = 16 * 1024  # managers write a larger message in two sends; Nagle holds the second
_HOST_PORT = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$")


class NativeTransport(Transport):
    name = "native"
    title = ("multiprocessing.managers: pickled objects through the manager server's queues, TCP_NODELAY on every "
             "connection")
    server_role = "server"
    place = 1
    settings_type = NativeSettings
    local_sockets = True
    thread_kinds = (("|", "server, one thread per connection"),  # the managers name it after its client
                    ("handle_request", "server, one thread per connection"),  # before its client names itself
                    ("calls", "manager calls of tasks"))  # the server's own thread accepts and authenticates
    codecs = codec.CODECS
    default_codec = codec.DEFAULT_CODEC
    codec_help = ("pickle (default: the manager pickles every value) or msgpack (msgpack bytes, which the manager "
                  "then pickles as one bytes object: the transport's cost without the encoding's)")
    semantics_codecs = ("pickle",)
    options = OPTIONS
    examples = ("REQREP_AUTHKEY=secret reqrep native serve --address 0.0.0.0:50000 --responders 5",
                "REQREP_AUTHKEY=secret reqrep native request --address server.example:50000 --requests 10000",
                "reqrep native responders --address server.example:50000 --authkey-file key.txt",
                "REQREP_AUTHKEY=secret reqrep native serve --address unix:/tmp/reqrep-server --responders 5")
    parts = {"serve": Part("the response side: manager server and responders (--responders 0: the server alone)"),
             "responders": Part("responders alone, for a running manager server", server=False)}
    bench_paths = (
        BenchPath("native", "native", "pickle", description=title + " (reqrep's default)",
                  studies=("sweep", "ndarray")),  # pickle carries arrays
        BenchPath("native-stock", "native", "pickle", {"stock_managers": True},
                  description="the same with the stock manager connections, Nagle's algorithm left on "
                              "(`--stock-managers`)", stalls_above=NAGLE_STALL_BYTES),
        BenchPath("native-batch", "native", "pickle", {"batch": True}, DEFAULT_BATCH_SIZE,
                  description=f"native, with requests and replies moved many per manager call (`--batch`) and "
                              f"{DEFAULT_BATCH_SIZE} requests in flight per requester", batches=True),
        BenchPath("native-one-hop", "native", "pickle", one_hop=True, studies=("peers",),
                  description="native in one hop (`--one-hop`): the manager server answers each request in the call "
                              "that sends it, no responders"),
    )
    codec_passes = 4  # the server unpickles each value and pickles it again

    def settings(self, values) -> NativeSettings:
        """The key comes from a file or the environment (a tandem command), or is made for a local run."""
        values = dict(values)
        if "authkey" in values:
            values["authkey"] = connection.load_authkey(values["authkey"])
        return NativeSettings(**values)

    # ---- addresses ---------------------------------------------------------------------------------------
    def parse_address(self, text: str) -> str:
        """HOST:PORT, which crosses hosts, or unix:/PATH, a socket file on this one."""
        path = local_path(text)
        if path is not None:
            checked_path(path, text)
            return text
        match = _HOST_PORT.match(text)
        if not match or int(match.group(2)) > 65535:
            hint = ": ipc:// is a zmq address, native's is unix:/PATH" if text.startswith("ipc://") else ""
            raise UsageError(f"malformed address {text!r}: expected HOST:PORT, for example {DEFAULT_ADDRESS}, or "
                             f"unix:/PATH{hint}")
        return text

    def host_port(self, address: str) -> tuple[str, int]:
        found = manager_address(address)
        if isinstance(found, str):
            raise UsageError(f"{address} is not a TCP address: it has no host and port")
        return found

    def address_for(self, host: str, port: int) -> str:
        return f"{f'[{host}]' if ':' in host else host}:{port}"

    @contextlib.contextmanager
    def loopback(self, config: RunConfig, host: str = LOOPBACK) -> Iterator[RunConfig]:
        """A free loopback port, or with `--local` a socket file in a private folder; a random key for this
        run."""
        settings = dataclasses.replace(config.settings, authkey=secrets.token_bytes(32))
        folder = private_folder() if config.local else contextlib.nullcontext()
        with folder as local:
            address = f"{UNIX}{socket_file(local, 'server')}" if local else self.address_for(host, free_port(host))
            yield config.with_(address=address, settings=settings)

    def announcement(self, config: RunConfig, part: str) -> str:
        responders = counted(config.responders, "responder")
        return {"serve": f"serving on {config.address} with {responders}",
                "responders": f"{responders} serving for the server at {config.address}"}[part]

    # ---- roles (both examples have a server: managers have no peer-to-peer mode) --------------------------
    one_hop_shape = "the manager server answers each request in the call that sends it"

    def serve(self, config: RunConfig, ready) -> None:
        (one_hop.serve if config.one_hop else server.serve)(config, ready)

    respond = staticmethod(responder.respond)
    respond_async = staticmethod(tasks.respond)

    def request(self, config: RunConfig, requester_id: int, start, progress) -> RequesterResult:
        return (one_hop.request if config.one_hop else requester.request)(config, requester_id, start, progress)

    async def request_async(self, config: RunConfig, requester_id: int, start, progress) -> RequesterResult:
        chosen = one_hop.request_async if config.one_hop else tasks.request
        return await chosen(config, requester_id, start, progress)
    deliver = staticmethod(requester.deliver)
    stop_threads = staticmethod(server.stop_threads)
    stop_requesters = staticmethod(connection.stop_requesters)
    wire_bytes = staticmethod(codec.wire_bytes)

    # ---- reports -----------------------------------------------------------------------------------------
    payload_codec = staticmethod(codec.payload_codec)

    def versions(self) -> dict[str, str]:
        return {"python": platform.python_version()}


TRANSPORT = NativeTransport()
