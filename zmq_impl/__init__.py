"""The ZeroMQ variant: msgpack (or the seed's raw) frames through ROUTER | zmq.proxy | DEALER to REP responders."""

from zmq_impl import codec, request_router, requester, responder, server, tasks

__all__ = ["codec", "request_router", "requester", "responder", "server", "tasks"]
