"""The ZeroMQ variant: msgpack (or the seed's raw) frames through ROUTER | zmq.proxy | DEALER to REP
responders, or (`--broker balancing`) through a load-balancing broker to DEALER responders that say when they
are free. `TRANSPORT` is what the core sees of it (shared/core/transport.py)."""

from zmq_impl.transport import TRANSPORT

__all__ = ["TRANSPORT"]
