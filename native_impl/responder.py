"""A responder: takes requests from the shared queue, calls the workload's handler, and has the server put
the reply into the requester's own reply queue."""

from __future__ import annotations

import logging

from native_impl.codec import CODECS, error_reply
from native_impl.server import connect, disconnect
from shared.config import RunConfig
from shared.workload import handle_any

log = logging.getLogger(__name__)


def respond(config: RunConfig, index: int, ready) -> None:
    """Answer requests until interrupted or handed None. A request that cannot be handled gets an error
    reply, so that its requester is not left waiting and the responder goes on."""
    handle = handle_any
    codec = CODECS[config.codec]
    encode, decode = codec.encode, codec.decode
    board = connect(config)
    requests = board.requests()
    get, reply_to = requests.get, board.reply
    try:
        ready.set()
        while True:
            item = get()
            if item is None:
                break
            try:
                key, n, payload = item
            except (TypeError, ValueError):
                log.warning("responder %d: dropped a malformed request of type %s", index, type(item).__name__)
                continue
            try:
                reply = encode(handle(decode(payload)))
            except Exception as error:
                log.warning("responder %d: bad request: %s", index, error)
                reply = error_reply(codec, f"{type(error).__name__}: {error}")
            reply_to(key, (n, reply))
    except (EOFError, ConnectionError):
        log.warning("responder %d: the native server went away", index)
    finally:
        disconnect(requests, board)
