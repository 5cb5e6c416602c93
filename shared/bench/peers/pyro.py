"""Pyro5: a remote object's method called through a proxy (serpent-serialized values), the daemon's pool
of threads answering, a thread per connection."""

from __future__ import annotations

from shared.bench.peers.peer import OBJECT, Answer, Peer

OBJECT_ID = "reqrep.echo"


class PyroClient:
    def __init__(self, host: str, port: int, timeout: float) -> None:
        from Pyro5 import api, errors

        self.errors = errors
        self.proxy = api.Proxy(f"PYRO:{OBJECT_ID}@{host}:{port}")
        self.proxy._pyroTimeout = timeout
        try:
            self.proxy._pyroBind()
        except errors.CommunicationError as error:
            raise ConnectionError(f"no Pyro5 daemon at {host}:{port}: {error}") from None
        self.timeout = timeout

    def call(self, message: str) -> str:
        try:
            return self.proxy.call(message)
        except self.errors.TimeoutError:
            self.proxy._pyroRelease()  # a late reply must not answer the next call: the next binds anew
            raise TimeoutError(f"no reply within {self.timeout:g} s") from None
        except self.errors.CommunicationError as error:
            raise ConnectionError(f"the daemon went away: {error}") from None

    def close(self) -> None:
        self.proxy._pyroRelease()


class PyroPeer(Peer):
    name = "pyro5"
    label = "Pyro5"
    module = "Pyro5"
    distribution = "Pyro5"
    title = "Pyro5: a remote object's method through a proxy, serpent-serialized; the daemon's thread pool"
    hops = "client proxy → daemon thread (one per connection): 1 hop"
    codec = OBJECT

    def serve(self, host: str, port: int, answer: Answer, workers: int, ready) -> None:
        from Pyro5 import api

        @api.expose
        @api.behavior(instance_mode="single")
        class Echo:
            def call(self, message):
                return answer(message)

        with api.Daemon(host=host, port=port) as daemon:
            daemon.register(Echo(), OBJECT_ID)
            ready.set()
            daemon.requestLoop()

    def connect(self, host: str, port: int, timeout: float) -> PyroClient:
        return PyroClient(host, port, timeout)
