"""A responder: a REP socket that decodes each request, calls the workload's handler, encodes the reply.

A request frame may start with the request's number (see codec.py); the reply starts with it too, so the
requester can tell which request a reply answers.
"""

from __future__ import annotations

import logging

import zmq

from shared.config import RunConfig
from shared.workload import handle_any
from zmq_impl.codec import CODECS, error_reply, split_id
from zmq_impl.server import bind, secure_server, start_authenticator

log = logging.getLogger(__name__)
LOGGED_BAD_REQUESTS = 5  # the first few bad requests are logged each, then one line per thousand


def complain(index: int, bad: int, error: Exception) -> int:
    """Log a bad request (the first few, then one in a thousand) and return the new count."""
    bad += 1
    if bad <= LOGGED_BAD_REQUESTS or bad % 1000 == 0:
        log.warning("responder %d: bad request #%d: %s: %s", index, bad, type(error).__name__, error)
    return bad


def respond(config: RunConfig, index: int, ready) -> None:
    """Answer requests until interrupted. A request that cannot be decoded or handled gets an error reply
    (status 400 with the reason): a REP socket must answer before it can receive again, and one bad
    request must not stop the responder."""
    handle = handle_any
    codec = CODECS[config.codec]
    encode, decode = codec.encode, codec.decode
    bad = 0
    handler = None
    try:
        socket = zmq.Context.instance().socket(zmq.REP)
    except zmq.ContextTerminated:
        return
    try:
        socket.linger = 0
        socket.maxmsgsize = config.max_message_bytes  # also guards the back address against direct peers
        if config.example == "hello":  # example 1: no broker, REP meets REQ directly
            secure_server(socket, config)
            handler = start_authenticator(config)
            bind(socket, config.address)
        else:
            socket.connect(config.back_address)
        ready.set()
        while True:
            number, body = split_id(socket.recv())
            try:
                reply = encode(handle(decode(body)))
            except Exception as error:
                bad = complain(index, bad, error)
                reply = error_reply(codec, f"{type(error).__name__}: {error}")
            try:
                socket.send(number + reply)
            except zmq.ZMQError as error:
                if error.errno != zmq.EFSM:
                    raise
                # More frames follow: REP answers only once it has taken the whole request. Checking for
                # them here, on the rare path, spares every request a getsockopt call.
                extra = len(socket.recv_multipart())
                bad = complain(index, bad, ValueError(f"a request is one frame, this one had {extra + 1}"))
                socket.send(number + error_reply(codec, f"ValueError: a request is one frame, not {extra + 1}"))
    except zmq.ContextTerminated:
        pass
    finally:
        socket.close()
        if handler is not None:
            handler.stop()
