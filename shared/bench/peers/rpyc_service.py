"""rpyc: an exposed method of a service, called through a connection's netref (fetched once, so a call is
one round trip); the ThreadedServer answers in a thread per connection."""

from __future__ import annotations

from shared.bench.peers.peer import OBJECT, Answer, Peer


class RpycClient:
    def __init__(self, host: str, port: int, timeout: float) -> None:
        import rpyc

        try:
            self.connection = rpyc.connect(host, port, config={"sync_request_timeout": timeout})
        except OSError as error:
            raise ConnectionError(f"no rpyc server at {host}:{port}: {error}") from None
        self.remote, self.timeout = self.connection.root.call, timeout

    def call(self, message: str) -> str:
        try:
            return self.remote(message)
        except TimeoutError:
            raise TimeoutError(f"no reply within {self.timeout:g} s") from None
        except (EOFError, OSError) as error:
            raise ConnectionError(f"the server went away: {error}") from None

    def close(self) -> None:
        self.connection.close()


class RpycPeer(Peer):
    name = "rpyc"
    label = "rpyc"
    module = "rpyc"
    distribution = "rpyc"
    title = "rpyc: an exposed method of a service, through a netref; brine-serialized values; ThreadedServer"
    hops = "client → server thread (one per connection): 1 hop"
    codec = OBJECT

    def serve(self, host: str, port: int, answer: Answer, workers: int, ready) -> None:
        import rpyc
        from rpyc.utils.server import ThreadedServer

        class Echo(rpyc.Service):
            def exposed_call(self, message):
                return answer(message)

        server = ThreadedServer(Echo, hostname=host, port=port)
        try:
            ready.set()
            server.start()
        finally:
            server.close()

    def connect(self, host: str, port: int, timeout: float) -> RpycClient:
        return RpycClient(host, port, timeout)
