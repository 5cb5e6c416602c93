"""Frames on the ZeroMQ side: the program encodes every value itself, because ZeroMQ carries bytes."""

from __future__ import annotations

import msgpack

from shared.codec import Codec


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
    "raw": Codec("raw", encode_raw, decode_raw),
}
DEFAULT_CODEC = "msgpack"


def error_reply(codec: Codec, reason: str) -> bytes:
    """What a responder answers to a frame it cannot decode or handle: a REP socket must answer something."""
    if codec.name == "raw":
        return f"error: {reason}".encode()
    return msgpack.packb({"status": 400, "body": reason})
