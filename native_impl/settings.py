"""The Python-native variant's own fields of a run's configuration, their checks, and the flags that set them.
"""

from __future__ import annotations

import dataclasses

from native_impl import connection
from native_impl.addresses import local_path
from shared.core.config import NOT_RECORDED, RunConfig, Settings
from shared.core.errors import UsageError
from shared.core.flags import option

DEFAULT_ADDRESS = "127.0.0.1:50000"
DEFAULT_BATCH_SIZE = 16


@dataclasses.dataclass(frozen=True)
class NativeSettings(Settings):
    authkey: bytes = b""  # the managers' shared key: from REQREP_AUTHKEY or a file, or made for a local run
    batch: bool = False  # move requests and replies many per manager call
    batch_size: int = DEFAULT_BATCH_SIZE  # with batch: the most requests a responder takes in one call
    stock_managers: bool = False  # the stock connections, with Nagle's algorithm left on

    def check(self, config: RunConfig) -> None:
        if self.batch_size < 1:
            raise UsageError(f"--batch-size must be 1 or more, not {self.batch_size}")
        if self.batch_size != DEFAULT_BATCH_SIZE and not self.batch:
            raise UsageError("--batch-size is how many requests a responder takes in one call of --batch: use it "
                             "with --batch")
        if config.one_hop and (self.batch or not config.lockstep):
            raise UsageError("--window, --rate and --batch keep requests in the server's queues: native --one-hop "
                             "answers each in the call that sends it")
        if not self.authkey and config.part != "run":
            raise UsageError(f"{connection.AUTHKEY_VARIABLE} is not set and no --authkey-file was given: the native "
                             f"server and its peers need a shared key")

    def public(self) -> dict:
        fields = dataclasses.asdict(self)
        fields.pop("authkey")
        return fields | {"authkey_challenge": connection.CHALLENGE_DIGEST}  # never the key: how it is proven

    @classmethod
    def described(cls, parameters: dict) -> dict[str, str]:
        if "batch" not in parameters:
            calls = NOT_RECORDED
        elif parameters.get("one_hop"):
            calls = "one per request, answered in the server (one hop)"
        elif parameters["batch"]:
            calls = f"batched (a responder takes up to {parameters['batch_size']} a call)"
        else:
            calls = "one request each"
        digest = parameters.get("authkey_challenge")
        security = f"authkey, {digest}" if digest else NOT_RECORDED
        return {"manager calls": calls, "sockets": sockets(parameters.get("address", "")), "security": security}


def sockets(address: str) -> str:
    """What the requesters' hop is made of, by its address: tcp, or unix (AF_UNIX, a socket file)."""
    return NOT_RECORDED if not address else "unix" if local_path(address) is not None else "tcp"


TANDEM = "serve responders request"
LOCAL = "run compare"
OPTIONS = (
    option("--address", parts=TANDEM, metavar="ADDRESS", default=DEFAULT_ADDRESS,
           help=f"the manager server's address: HOST:PORT, or a socket file on this host, unix:/PATH (default "
                f"{DEFAULT_ADDRESS})"),
    option("--authkey-file", dest="authkey", parts=TANDEM, metavar="PATH", default=None,
           help=f"read the shared key from this file (default: the variable {connection.AUTHKEY_VARIABLE})"),
    option("--batch", parts=f"{LOCAL} {TANDEM}", action="store_true",
           help="move requests and replies many per manager call (the tuned use)"),
    option("--batch-size", parts=f"{LOCAL} serve responders", type=int, metavar="N", default=DEFAULT_BATCH_SIZE,
           help=f"with --batch: the most requests a responder takes in one call (default {DEFAULT_BATCH_SIZE})"),
    option("--stock-managers", parts=f"{LOCAL} {TANDEM}", action="store_true",
           help="the stock manager connections, with Nagle's algorithm left on"),
)
