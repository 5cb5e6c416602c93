"""A responder: a REP socket that decodes each request, calls the workload's handler, encodes the reply.

A request frame may start with the request's number (see codec.py); the reply starts with it too, so the
requester can tell which request a reply answers.
"""

from __future__ import annotations

import logging

import zmq

from shared.config import RunConfig
from shared.roles import notice_level
from shared.workload import DECODE_REQUEST, BadRequests, answer, responder_handler
from zmq_impl.codec import CODECS, ID_BYTES, ID_MARKER, error_reply
from zmq_impl.server import (
    Peer,
    bind,
    connect,
    crosses_tcp,
    secure_client,
    secure_server,
    shared_context,
    start_authenticator,
)

log = logging.getLogger(__name__)


def respond(config: RunConfig, index: int, ready) -> None:
    """Answer requests until interrupted. Every request gets a reply, an error reply (status 400 naming the
    stage that failed) if need be: a REP socket must answer before it can receive again, and one bad
    request must not stop the responder."""
    handle = responder_handler(config.workload)
    codec = CODECS[config.codec]
    bad = BadRequests(index)
    handler = watch = None
    try:
        socket = shared_context().socket(zmq.REP)
    except zmq.ContextTerminated:
        return
    try:
        socket.linger = 0
        socket.maxmsgsize = config.max_message_bytes  # also guards the back address against direct peers
        if config.example == "hello":  # example 1: no broker, REP meets REQ directly
            secure_server(socket, config)
            handler = start_authenticator(config)
            bind(socket, config.address)
        elif crosses_tcp(config.back_address):
            secure_client(socket, config)
            # Waits for the broker (started in any order), then notes its departures: libzmq reconnects.
            peer = Peer(f"zmq responder {index}", "zmq broker", config.back_address, notice_level(index))
            watch = connect(socket, config, peer, watch=True)
        else:  # inproc: the broker, a thread of this process, is bound already (and inproc has no handshake)
            socket.connect(config.back_address)
        ready.set()
        recv, send, decode, encode = socket.recv, socket.send, codec.decode, codec.encode
        while True:
            frame = recv()
            if len(frame) > ID_BYTES and frame[0] == ID_MARKER:  # split_id, inline: this loop is the hot path
                number, body = frame[:ID_BYTES], memoryview(frame)[ID_BYTES:]
            else:
                number, body = b"", frame
            try:
                reply = encode(handle(decode(body)))
            except Exception:
                reply = answer(handle, codec, body, error_reply, bad)  # again, step by step, to name the stage
            try:
                send(number + reply)
            except zmq.ZMQError as error:
                if error.errno != zmq.EFSM:
                    raise
                # More frames follow: REP answers only once it has taken the whole request. Checking for
                # them here, on the rare path, spares every request a getsockopt call.
                socket.send(frames_reply(number, socket.recv_multipart(), codec, bad))
    except zmq.ContextTerminated:
        pass
    finally:
        if watch is not None:
            watch.stop()
        socket.close()
        if handler is not None:
            handler.stop()


def frames_reply(number: bytes, extra: list, codec, bad: BadRequests) -> bytes:
    """The error reply to a request that came in more than one frame (`extra` are the ones after the first)."""
    problem = ValueError(f"a request is one frame, this one had {len(extra) + 1}")
    bad.count(DECODE_REQUEST, problem)
    return number + error_reply(codec, DECODE_REQUEST, problem)
