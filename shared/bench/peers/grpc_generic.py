"""gRPC, unary calls of raw bytes through a generic handler (no .proto, no generated code): a server with a
pool of worker threads, one per requester; a requester keeps one channel."""

from __future__ import annotations

from concurrent import futures

from shared.bench.peers.peer import Answer, Peer
from shared.core.config import START_DEADLINE
from shared.core.errors import UsageError

SERVICE, METHOD = "reqrep.Echo", "Call"


class GrpcClient:
    def __init__(self, host: str, port: int, timeout: float) -> None:
        import grpc

        self.grpc, self.timeout = grpc, timeout
        self.channel = grpc.insecure_channel(f"{host}:{port}")
        try:
            grpc.channel_ready_future(self.channel).result(timeout=START_DEADLINE)
        except grpc.FutureTimeoutError:
            self.channel.close()
            raise ConnectionError(f"no gRPC server at {host}:{port} within {START_DEADLINE:g} s") from None
        self.unary = self.channel.unary_unary(f"/{SERVICE}/{METHOD}")  # no serializers: bytes both ways

    def call(self, message: bytes) -> bytes:
        try:
            return self.unary(message, timeout=self.timeout)
        except self.grpc.RpcError as error:
            if error.code() == self.grpc.StatusCode.DEADLINE_EXCEEDED:
                raise TimeoutError(f"no reply within {self.timeout:g} s") from None
            raise ConnectionError(f"the call failed: {error.code().name} {error.details()}") from None

    def close(self) -> None:
        self.channel.close()


def listen(server, host: str, port: int) -> None:
    """Bind, or one sentence: grpcio says so by returning 0 or, in newer versions, by raising."""
    try:
        bound = server.add_insecure_port(f"{host}:{port}")
    except RuntimeError:
        bound = 0
    if not bound:
        raise UsageError(f"gRPC cannot listen on {host}:{port}")


class GrpcPeer(Peer):
    name = "grpc"
    label = "gRPC"
    module = "grpc"
    distribution = "grpcio"
    title = "gRPC: unary calls of raw bytes through a generic handler, no code generation; a pool of worker threads"
    hops = "client → server worker thread (a pool, one per requester): 1 hop"

    def serve(self, host: str, port: int, answer: Answer, workers: int, ready) -> None:
        import grpc

        handler = grpc.method_handlers_generic_handler(SERVICE, {
            METHOD: grpc.unary_unary_rpc_method_handler(lambda request, context: answer(request))})
        with futures.ThreadPoolExecutor(max_workers=workers) as pool:
            server = grpc.server(pool, handlers=(handler,), options=(("grpc.so_reuseport", 0),))
            try:
                listen(server, host, port)
                server.start()
                ready.set()
                server.wait_for_termination()
            finally:
                server.stop(None).wait(START_DEADLINE)

    def connect(self, host: str, port: int, timeout: float) -> GrpcClient:
        return GrpcClient(host, port, timeout)
