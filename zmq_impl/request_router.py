"""The request side's router (`reqrep zmq request --shared-connection`), as the seed's request-router: the
requesters' REQ sockets meet a local ROUTER, and zmq.proxy carries all their requests to the broker through
one DEALER, over one TCP connection.

The native variant has no counterpart: a manager proxy makes one synchronous call at a time on its own
connection, so a shared connection would serialize the requesters instead of multiplexing them.
"""

from __future__ import annotations

import zmq

from shared.config import RunConfig, free_port
from zmq_impl.server import Peer, bind, connect, run_proxy, secure_client, shared_context

ROLE = "request router"


def local_address() -> str:
    """Where the requesters meet the router: loopback, on the request side's own host."""
    return f"tcp://127.0.0.1:{free_port()}"


def serve(config: RunConfig, local: str, ready) -> None:
    """Route requests from `local` to the broker at `config.address` until interrupted. Ready once the
    broker has answered: a router without its broker would only hide the requesters' wait."""
    context = shared_context()
    front = context.socket(zmq.ROUTER)  # the requesters, on this host: no CURVE between them
    back = context.socket(zmq.DEALER)  # the one connection to the broker, with the requesters' keys
    try:
        for socket in (front, back):
            socket.linger = 0
        bind(front, local)
        secure_client(back, config)
        connect(back, config, Peer("zmq request router", "zmq broker", config.address))
    except BaseException:
        front.close()
        back.close()
        raise
    run_proxy(front, back, ready)
