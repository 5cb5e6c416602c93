"""The managers' connections with TCP_NODELAY, the one change to how managers talk.

multiprocessing.connection writes a message's 4-byte length and its body in two `send` calls when the
body is larger than 16 KiB, and the authentication handshake is a volley of small messages. With Nagle's
algorithm on, the second write waits for the ACK of the first, which the receiver delays by up to 40 ms:
every large message and every new connection pays it. ZeroMQ turns Nagle off on its TCP sockets; these do
the same. They are registered in `multiprocessing.managers.listener_client`, the table a manager consults
by its `serializer` name, so a manager made with `serializer=NODELAY` uses them on both ends (the stock
"pickle" entry stays as it is, for `--stock-managers`).
"""

from __future__ import annotations

import os
import socket
from multiprocessing import connection
from multiprocessing.managers import listener_client

NODELAY = "pickle-nodelay"
STOCK = "pickle"


def _without_nagle(conn: connection.Connection) -> None:
    # A second descriptor of the same socket: options belong to the socket, and closing the copy
    # leaves the connection open.
    with socket.socket(fileno=os.dup(conn.fileno())) as view:
        if view.family in (socket.AF_INET, socket.AF_INET6):
            view.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class Listener(connection.Listener):
    def accept(self) -> connection.Connection:
        if self._listener is None:
            raise OSError("listener is closed")
        accepted = self._listener.accept()
        _without_nagle(accepted)  # before the handshake, which would stall too
        if self._authkey:
            connection.deliver_challenge(accepted, self._authkey)
            connection.answer_challenge(accepted, self._authkey)
        return accepted


def Client(address, family=None, authkey=None) -> connection.Connection:  # noqa: N802 (the stdlib's name)
    opened = connection.SocketClient(address)
    _without_nagle(opened)
    if authkey is not None:
        connection.answer_challenge(opened, authkey)
        connection.deliver_challenge(opened, authkey)
    return opened


listener_client[NODELAY] = (Listener, Client)


def serializer(stock: bool) -> str:
    return STOCK if stock else NODELAY
