"""The request side's router (`reqrep zmq request --shared-connection`): the requesters' REQ sockets meet a
local ROUTER, and zmq.proxy carries their requests to the broker through one DEALER, one TCP connection.
zmq only: a manager proxy makes one call at a time, so sharing a connection would serialize native requesters.
"""

from __future__ import annotations

import zmq

from shared.core.channel import complete
from shared.core.config import RunConfig
from shared.core.peers import Peer
from shared.core.ports import free_port
from zmq_impl.blocking import BLOCKING
from zmq_impl.connection import connect, shared_context
from zmq_impl.curve import secure_client
from zmq_impl.server import run_proxy, server_socket

ROLE = "request router"


def local_address() -> str:
    """Where the requesters meet the router: loopback, on the request side's own host."""
    return f"tcp://127.0.0.1:{free_port()}"


def serve(config: RunConfig, ready) -> None:
    """Route requests to the broker at `config.address` until interrupted; ready once the broker answered."""
    local = config.settings.router_address
    front = back = None
    try:
        front = server_socket(config, zmq.ROUTER, local, secure=False)  # the requesters, on this host
        back = shared_context().socket(zmq.DEALER)  # the one connection, with the requesters' keys
        back.linger = 0  # and no send deadline: zmq.proxy would stop at the first one that expires
        secure_client(back, config.settings.curve)
        complete(connect(config, Peer(config.role(ROLE), config.role("broker"), config.address), back, BLOCKING))
    except BaseException:
        for socket in (front, back):
            if socket is not None:
                socket.close()
        raise
    run_proxy(front, back, ready)
