"""The ZeroMQ variant: msgpack (or the seed's raw) frames through ROUTER | zmq.proxy | DEALER to REP responders."""

from zmq_impl import codec, requester, responder, server

__all__ = ["codec", "requester", "responder", "server"]
