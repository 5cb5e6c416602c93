"""A responder: a REP socket that decodes each request, calls the workload's handler, encodes the reply."""

from __future__ import annotations

import logging

import zmq

from shared.codec import Codec
from shared.config import RunConfig
from shared.workload import DECODE_REQUEST, ENCODE_REPLY, HANDLE_REQUEST, describe, responder_handler
from zmq_impl.codec import CODECS, error_reply
from zmq_impl.server import bind

log = logging.getLogger(__name__)


def respond(config: RunConfig, index: int, ready) -> None:
    """Answer requests until interrupted. Every request gets a reply, an error reply if need be: a REP socket
    must answer before it can receive again, and one bad frame must not stop the responder."""
    handle = responder_handler(config.workload)
    codec = CODECS[config.codec]
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
            socket.send(answer(handle, codec, socket.recv_multipart(), index))
    except zmq.ContextTerminated:
        pass
    finally:
        socket.close()


def answer(handle, codec: Codec, frames: list[bytes], index: int) -> bytes:
    """The encoded reply to one request, or an error reply that names the stage that failed."""
    stage = DECODE_REQUEST
    try:
        if len(frames) != 1:
            raise ValueError(f"expected one frame, got {len(frames)}")
        request = codec.decode(frames[0])
        stage = HANDLE_REQUEST
        reply = handle(request)
        stage = ENCODE_REPLY
        return codec.encode(reply)
    except Exception as error:  # RecursionError and MemoryError too: the responder goes on
        log.info("responder %d: %s: %s", index, stage, describe(error))  # the requester is told
        return error_reply(codec, stage, error)
