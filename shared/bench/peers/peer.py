"""What a peer (a Python library a user might pick instead of reqrep) gives the bench: a server that answers
in place, and a client that makes one call per request. Everything else (the requesters, their barrier, the
check of every reply, the measurements) is reqrep's own, the same for every peer: see bridge.py."""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from importlib import metadata
from typing import Any, ClassVar, Protocol

from shared.core.wire import Codec, identity

UTF8 = Codec("utf-8", str.encode, bytes.decode)  # a peer that carries bytes: the echo text as UTF-8
OBJECT = Codec("object", identity, identity)  # a peer that carries Python values: the text itself
Answer = Callable[[Any], Any]  # what the peer carries -> what it sends back


class Client(Protocol):
    """One requester's connection to the peer's server."""

    def call(self, message: Any) -> Any:
        """The reply to `message`; TimeoutError when none came in time, ConnectionError when the server is
        gone or refused the call."""

    def close(self) -> None: ...


class Peer(ABC):
    """A peer: its name in the bench, the library it needs, and how a request travels (`hops`)."""

    name: ClassVar[str]  # "grpc": its bench path, and its transport's name
    label: ClassVar[str]  # "gRPC": what the report calls it
    module: ClassVar[str]  # what must import for the peer to run
    distribution: ClassVar[str] = ""  # its package on PyPI, whose version the report gives (none: the stdlib)
    title: ClassVar[str]  # what travels, and how
    hops: ClassVar[str]  # "client → server thread: 1 hop"
    codec: ClassVar[Codec] = UTF8

    def installed(self) -> bool:
        """Whether its library imports here."""
        try:
            importlib.import_module(self.module)
        except ImportError:
            return False
        return True

    def version(self) -> str:
        if not self.distribution:
            return ""
        try:
            return metadata.version(self.distribution)
        except metadata.PackageNotFoundError:
            return ""

    @abstractmethod
    def serve(self, host: str, port: int, answer: Answer, workers: int, ready) -> None:
        """Listen at host:port, set `ready`, and answer every call with `answer` until stopped (SIGTERM raises
        SystemExit in this, the process's main thread); close everything on the way out. `workers`: the
        threads of a server that keeps a pool (one per requester)."""

    @abstractmethod
    def connect(self, host: str, port: int, timeout: float) -> Client:
        """A client of the server at host:port, connected; `timeout` bounds every call."""
