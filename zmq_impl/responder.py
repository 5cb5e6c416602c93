"""A responder: a REP socket that decodes each request, calls the workload's handler, encodes the reply."""

from __future__ import annotations

import logging

import zmq

from shared.config import RunConfig
from shared.workload import handle_any
from zmq_impl.codec import CODECS, error_reply
from zmq_impl.server import bind

log = logging.getLogger(__name__)


def respond(config: RunConfig, index: int, ready) -> None:
    """Answer requests until interrupted. A frame that cannot be decoded or handled gets an error reply:
    a REP socket must answer before it can receive again, and one bad frame must not stop the responder."""
    handle = handle_any
    codec = CODECS[config.codec]
    encode, decode = codec.encode, codec.decode
    try:
        socket = zmq.Context.instance().socket(zmq.REP)
    except zmq.ContextTerminated:
        return
    try:
        socket.linger = 0
        if config.example == "hello":
            bind(socket, config.address)  # example 1: no broker, REP meets REQ directly
        else:
            socket.connect(config.back_address)
        ready.set()
        while True:
            frames = socket.recv_multipart()
            try:
                if len(frames) != 1:
                    raise ValueError(f"expected one frame, got {len(frames)}")
                reply = encode(handle(decode(frames[0])))
            except Exception as error:
                log.warning("responder %d: bad request: %s", index, error)
                reply = error_reply(codec, f"{type(error).__name__}: {error}")
            socket.send(reply)
    except zmq.ContextTerminated:
        pass
    finally:
        socket.close()
