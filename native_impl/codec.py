"""Values on the native side: the manager pickles them, so the program sends Python objects as they are.
The msgpack codec (`compare --factorial`) sends msgpack bytes, which the manager pickles as one object."""

from __future__ import annotations

import operator
import pickle
from multiprocessing.reduction import ForkingPickler

import msgpack

from shared.core.wire import Codec, Framing, identity
from shared.core.workload import error_body

CODECS: dict[str, Codec] = {
    "pickle": Codec("pickle", identity, identity),
    "msgpack": Codec("msgpack", msgpack.packb, msgpack.unpackb),
}
DEFAULT_CODEC = "pickle"


def own_codec(name: str) -> Codec:
    """The codec `name` for one role to use alone: msgpack's encoder a Packer of its own, as on zmq's side."""
    codec = CODECS[name]
    return codec._replace(encode=msgpack.Packer().pack) if name == "msgpack" else codec


def error_reply(codec: Codec, stage: str, error: BaseException | str):
    """What a responder answers to a request it cannot handle, so that the requester is not left waiting."""
    body = error_body(stage, error)
    return msgpack.packb(body) if codec.name == "msgpack" else body


def framing(key: int) -> Framing:
    """A request is the tuple (the requester's reply key, its number, the value); a reply is (number, value),
    put into the requester's own queue, which may hold a late answer: a requester can wait without sending."""
    return Framing(tag=int, join=lambda n, payload: (key, n, payload), expect=lambda n, payload: (n, payload),
                   answers=lambda reply, n: reply[0] == n, body=operator.itemgetter(1),
                   number=operator.itemgetter(0), listens=True)


def payload_codec(config) -> Codec:
    """The run's codec inside the manager's pickle, as a value crosses a connection: ForkingPickler.dumps
    (protocol 4 up to Python 3.13) out, pickle.loads in. A NumPy array is copied three times on each of
    the four hops: by `tobytes()`, into the pickle (in band, a foreign byte order made native), and out of
    the message into the bytes the new, writeable array lies over."""
    chosen = CODECS[config.codec]
    return Codec(chosen.name, lambda value: ForkingPickler.dumps(chosen.encode(value)),
                 lambda data: chosen.decode(pickle.loads(data)))


def wire_bytes(config, request, reply) -> dict:
    """What one request and its reply weigh as the manager messages that carry them (the requester's put
    and get, the responder's get and reply, each call and its answer), before their lengths and TCP's."""
    codec = CODECS[config.codec]
    key, token = 1 << 61, "7f0123456789"  # the sizes of a reply key (requester.reply_key) and a proxy's id
    item, answer = (key, 0, codec.encode(request)), (0, codec.encode(reply))
    messages = [(token, "put", (item,), {}), ("#RETURN", None),  # requester puts
                (token, "get", (True, config.timeout), {}), ("#RETURN", item),  # responder gets
                (token, "reply", (key, answer), {}), ("#RETURN", None),  # responder answers
                (token, "get", (True, config.timeout), {}), ("#RETURN", answer)]  # requester gets
    sizes = [len(ForkingPickler.dumps(message)) for message in messages]
    return {"request": sizes[0], "reply": sizes[7], "messages": len(sizes), "total": sum(sizes)}
