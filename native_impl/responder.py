"""A responder: takes requests from the shared queue, calls the workload's handler, and has the server put
the reply into the requester's own reply queue."""

from __future__ import annotations

import logging
from multiprocessing.managers import RemoteError

from native_impl.codec import CODECS, error_reply
from native_impl.server import connect, disconnect, remote_reason
from shared.codec import Codec
from shared.config import PeerLost, RunConfig
from shared.roles import notice_level
from shared.workload import DECODE_REQUEST, ENCODE_REPLY, HANDLE_REQUEST, SERVER_REPLY, describe, responder_handler

log = logging.getLogger(__name__)


def respond(config: RunConfig, index: int, ready) -> None:
    """Answer requests until interrupted or handed None. Every request gets a reply, an error reply if need
    be, so that its requester is not left waiting and the responder goes on."""
    handle = responder_handler(config.workload)
    codec = CODECS[config.codec]
    board = connect(config, f"native responder {index}", notice_level(index))
    requests = board.requests()
    get, reply_to = requests.get, board.reply
    try:
        ready.set()
        while True:
            try:
                item = get()
            except (EOFError, ConnectionError):
                raise
            except Exception as error:  # it would not unpickle here: whose it was is lost with it
                log.warning("responder %d: dropped a request that could not be received: %s", index,
                            describe(error))
                continue
            if item is None:
                break
            try:
                key, n, payload = item
            except (TypeError, ValueError):
                log.warning("responder %d: dropped a malformed request of type %s", index, type(item).__name__)
                continue
            send_reply(reply_to, key, n, answer(handle, codec, payload, index), codec, index)
    except (EOFError, ConnectionError) as error:
        # Its queues went with it, so there is nothing to reconnect to: say so, and let the command exit.
        raise PeerLost(f"lost the native server at {config.address}: {error!r}") from None
    finally:
        disconnect(requests, board)


def send_reply(reply_to, key: str, n: int, reply, codec: Codec, index: int) -> None:
    """Have the server put the reply into the requester's queue. It is pickled here and unpickled there; if
    either fails, the requester gets an error reply naming the stage instead."""
    try:
        reply_to(key, (n, reply))
        return
    except (EOFError, ConnectionError):
        raise
    except RemoteError as error:
        stage, reason = SERVER_REPLY, remote_reason(error)
    except Exception as error:
        stage, reason = ENCODE_REPLY, describe(error)
    log.info("responder %d: %s: %s", index, stage, reason)
    try:
        reply_to(key, (n, error_reply(codec, stage, reason)))
    except (EOFError, ConnectionError):
        raise
    except Exception as error:
        log.warning("responder %d: could not answer request %d: %s", index, n, describe(error))


def answer(handle, codec: Codec, payload, index: int):
    """The reply to one request, or an error reply that names the stage that failed."""
    stage = DECODE_REQUEST
    try:
        request = codec.decode(payload)
        stage = HANDLE_REQUEST
        reply = handle(request)
        stage = ENCODE_REPLY
        return codec.encode(reply)
    except Exception as error:
        log.info("responder %d: %s: %s", index, stage, describe(error))  # the requester is told
        return error_reply(codec, stage, error)
