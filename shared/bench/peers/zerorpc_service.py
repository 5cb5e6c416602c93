"""zerorpc: a method of a server object called by name, msgpack over ZeroMQ, gevent's greenlets answering in
the server's one thread."""

from __future__ import annotations

import logging
import signal

from shared.bench.peers.peer import OBJECT, Answer, Peer


def quiet() -> None:
    """zerorpc warns of an edge-triggered event it caught up with ("gevent_zeromq BUG"): lost nothing, and said
    on stderr in the middle of a bench."""
    logging.getLogger("zerorpc.gevent_zmq").setLevel(logging.ERROR)


class ZerorpcClient:
    def __init__(self, host: str, port: int, timeout: float) -> None:
        import zerorpc

        quiet()
        self.zerorpc, self.timeout = zerorpc, timeout
        self.client = zerorpc.Client(f"tcp://{host}:{port}", timeout=timeout, heartbeat=None)

    def call(self, message: str) -> str:
        try:
            return self.client("call", message)
        except self.zerorpc.TimeoutExpired:
            raise TimeoutError(f"no reply within {self.timeout:g} s") from None
        except self.zerorpc.LostRemote as error:
            raise ConnectionError(f"the server went away: {error}") from None

    def close(self) -> None:
        self.client.close()


class ZerorpcPeer(Peer):
    name = "zerorpc"
    label = "zerorpc"
    module = "zerorpc"
    distribution = "zerorpc"
    title = "zerorpc: a method called by name, msgpack over ZeroMQ; gevent greenlets in the server's one thread"
    hops = "client → server greenlet (one thread): 1 hop"
    codec = OBJECT

    def serve(self, host: str, port: int, answer: Answer, workers: int, ready) -> None:
        import gevent
        import zerorpc

        quiet()
        class Echo:
            def call(self, message):
                return answer(message)

        server = zerorpc.Server(Echo(), heartbeat=None)
        try:
            server.bind(f"tcp://{host}:{port}")
            gevent.signal_handler(signal.SIGTERM, server.stop)  # inside gevent's loop: it ends `run`
            ready.set()
            server.run()
        finally:
            server.close()

    def connect(self, host: str, port: int, timeout: float) -> ZerorpcClient:
        return ZerorpcClient(host, port, timeout)
