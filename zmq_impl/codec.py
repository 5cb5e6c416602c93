"""Frames on the ZeroMQ side: the program encodes every value itself, because ZeroMQ carries bytes."""

from __future__ import annotations

import msgpack

from shared.codec import Codec
from shared.workload import error_body
from zmq_impl import msgpack_ext


def decode_raw(frame: bytes) -> str:
    return frame.decode("utf-8")


def encode_raw(text: str) -> bytes:
    """The seed's wire format: one UTF-8 frame, no serialization layer."""
    if not isinstance(text, str):
        raise TypeError(f"the raw codec carries text only, not {type(text).__name__}")
    return text.encode("utf-8")


def decode_msgpack(frame: bytes):
    return msgpack.unpackb(frame)


CODECS: dict[str, Codec] = {
    "msgpack": Codec("msgpack", msgpack.packb, decode_msgpack),
    "msgpack-ext": Codec("msgpack-ext", msgpack_ext.encode, msgpack_ext.decode),
    "raw": Codec("raw", encode_raw, decode_raw),
}
DEFAULT_CODEC = "msgpack"


def error_reply(codec: Codec, stage: str, error: BaseException | str) -> bytes:
    """What a responder answers to a request it cannot decode, handle or encode: a REP socket must answer
    something. Plain msgpack, which both msgpack codecs decode."""
    body = error_body(stage, error)
    if codec.name == "raw":
        return f"error: {stage}: {body['body']}".encode()
    return msgpack.packb(body)
