"""Frames on the ZeroMQ side: the program encodes every value itself, because ZeroMQ carries bytes."""

from __future__ import annotations

import functools
import operator
import pickle
import struct

import msgpack

from shared.core.wire import Codec, Framing, identity
from shared.core.workload import error_body
from zmq_impl import msgpack_ext


def decode_raw(frame: bytes) -> str:
    return str(frame, "utf-8")  # str(), not .decode(): a memoryview of a frame is text too


def encode_raw(text: str) -> bytes:
    """One UTF-8 frame, no serialization layer."""
    if not isinstance(text, str):
        raise TypeError(f"the raw codec carries text only, not {type(text).__name__}")
    return text.encode("utf-8")


def reject_extension(code: int, data: bytes):
    raise ValueError(f"unknown msgpack extension code {code}")


def decode_msgpack(frame: bytes):
    """Untrusted bytes: msgpack bounds every length by the frame's size and nesting by its own stack, and
    extension types are refused. A def: a partial with a keyword copies its keywords on every call."""
    return msgpack.unpackb(frame, ext_hook=reject_extension)


def encode_pickle(value) -> bytes:
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


CODECS: dict[str, Codec] = {
    "msgpack": Codec("msgpack", msgpack.packb, decode_msgpack),
    "msgpack-ext": Codec("msgpack-ext", msgpack_ext.encode, msgpack_ext.decode),
    "raw": Codec("raw", encode_raw, decode_raw),
    # For `compare --factorial` only: pickle over zmq, to tell the encoding's cost from the transport's.
    # Unpickling runs code chosen by the sender: never serve it where strangers can send.
    "pickle": Codec("pickle", encode_pickle, pickle.loads),
}
DEFAULT_CODEC = "msgpack"


def own_codec(name: str) -> Codec:
    """The codec `name` for one role (a process, thread or task) to use alone: msgpack's `packb` builds a
    Packer for every value, which costs more than packing, so a role keeps one (its buffer one message's)."""
    codec = CODECS[name]
    return codec._replace(encode=msgpack.Packer().pack) if name == "msgpack" else codec


def error_reply(codec: Codec, stage: str, error: BaseException | str) -> bytes:
    """What a responder answers to a request it cannot decode, handle or encode (a REP socket must answer):
    plain msgpack, which both msgpack codecs decode; text for raw frames."""
    body = error_body(stage, error)
    if codec.name == "raw":
        return f"error: {stage}: {body['body']}".encode()
    return msgpack.packb(body)


# A request carries its number before its body, in the same frame: a msgpack uint64 (0xcf and 8 bytes,
# big-endian), then the body; its reply the same 9 bytes. One frame, not two, spares the broker and pyzmq a
# frame per request, and any msgpack library can write it. Raw text has no room: REQ alone pairs replies.
ID_MARKER = 0xCF
ID_BYTES = 9
request_id = functools.partial(struct.Struct(">BQ").pack, ID_MARKER)  # one C call per request


def carries_id(codec: Codec) -> bool:
    """Whether requests carry their number: all but raw text."""
    return codec.name != "raw"


def number_of(frame: bytes) -> int:
    """The number a reply carries, or -1."""
    return int.from_bytes(frame[1:ID_BYTES], "big") if len(frame) > ID_BYTES and frame[0] == ID_MARKER else -1


# Every operation on the hot path a C call: the requesters' loops make each of them once per request.
# operator.add, not bytes.__add__: called as a function, a slot wrapper packs its arguments into a tuple.
NUMBERED = Framing(tag=request_id, join=operator.add, expect=operator.add, answers=bytes.startswith,
                   body=operator.itemgetter(slice(ID_BYTES, None)), number=number_of, listens=False)
UNNUMBERED = Framing(tag=lambda n: b"", join=operator.add, expect=operator.add, answers=bytes.startswith,
                     body=identity, number=lambda frame: -1, listens=False)


def framing(codec: Codec) -> Framing:
    return NUMBERED if carries_id(codec) else UNNUMBERED


def payload_codec(config) -> Codec:
    """The run's codec, refusing a value whose frame, with the request's number, exceeds --max-message-bytes
    (the broker and responders would drop it)."""
    chosen, most = CODECS[config.codec], config.settings.max_message_bytes

    def encode(value) -> bytes:
        frame = chosen.encode(value)
        if len(frame) + ID_BYTES > most:
            raise ValueError(f"its frame of {len(frame) + ID_BYTES:,} bytes exceeds --max-message-bytes ({most:,})")
        return frame

    return Codec(chosen.name, encode, chosen.decode)


def wire_bytes(config, request, reply) -> dict:
    """What one request and its reply weigh as frames, before ZeroMQ's and TCP's own framing."""
    codec = CODECS[config.codec]
    number = ID_BYTES if carries_id(codec) else 0
    sent, returned = number + len(codec.encode(request)), number + len(codec.encode(reply))
    return {"request": sent, "reply": returned, "messages": 2, "total": sent + returned}
