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
from shared.workload import DECODE_REQUEST, ENCODE_REPLY, SERVER_REPLY, BadRequests, answer, describe, responder_handler

log = logging.getLogger(__name__)


def respond(config: RunConfig, index: int, ready) -> None:
    """Answer requests until interrupted or handed None. Every request gets a reply, an error reply if need
    be, so that its requester is not left waiting and the responder goes on."""
    handle = responder_handler(config.workload)
    codec = CODECS[config.codec]
    bad = BadRequests(index)
    board = connect(config, f"native responder {index}", notice_level(index))
    requests = board.requests()
    get, reply_to, decode, encode = requests.get, board.reply, codec.decode, codec.encode
    try:
        ready.set()
        if config.batch:
            respond_in_batches(config, index, board, handle, codec, bad)
            return
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
                key, n, payload = item  # unpack, inline: this loop is the hot path
            except (TypeError, ValueError):
                unpack(item, bad)  # again, to count it
                continue
            try:
                reply = encode(handle(decode(payload)))
            except Exception:
                reply = answer(handle, codec, payload, error_reply, bad)  # again, step by step, to name the stage
            try:
                reply_to(key, (n, reply))
            except (EOFError, ConnectionError):
                raise
            except Exception as error:  # it would not pickle here, or not unpickle there
                send_error_reply(reply_to, key, n, error, codec, index)
    except (EOFError, ConnectionError) as error:
        # Its queues went with it, so there is nothing to reconnect to: say so, and let the command exit.
        raise PeerLost(f"lost the native server at {config.address}: {error!r}") from None
    finally:
        disconnect(requests, board)


def respond_in_batches(config: RunConfig, index: int, board, handle, codec: Codec, bad: BadRequests) -> None:
    """The tuned loop (--batch): take the requests waiting, up to a window's worth, in one call; answer
    them all in one call. A batch whose replies the server cannot take goes back one reply at a time, so
    that each requester hears what became of its own."""
    most = max(config.window, 1)
    while True:
        answers, stop = answer_batch(board.take_requests(most), handle, codec, bad)
        try:
            board.reply_many([(key, (n, reply)) for key, n, reply in answers])
        except (EOFError, ConnectionError):
            raise
        except Exception:  # one reply would not pickle here, or not unpickle there
            for key, n, reply in answers:
                send_reply(board.reply, key, n, reply, codec, index)
        if stop:
            return


def answer_batch(items: list, handle, codec: Codec, bad: BadRequests) -> tuple[list, bool]:
    """The (key, number, encoded reply) of each request of a batch, and whether the batch ended with the
    stop sentinel."""
    answers = []
    for item in items:
        if item is None:
            return answers, True
        request = unpack(item, bad)
        if request is not None:
            key, n, payload = request
            answers.append((key, n, answer(handle, codec, payload, error_reply, bad)))
    return answers, False


def send_reply(reply_to, key: int, n: int, reply, codec: Codec, index: int) -> None:
    """Have the server put the reply into the requester's queue. It is pickled here and unpickled there; if
    either fails, the requester gets an error reply naming the stage instead."""
    try:
        reply_to(key, (n, reply))
    except (EOFError, ConnectionError):
        raise
    except Exception as error:
        send_error_reply(reply_to, key, n, error, codec, index)


def send_error_reply(reply_to, key: int, n: int, error: Exception, codec: Codec, index: int) -> None:
    """The reply to request n could not be sent (`error`): send an error reply naming the stage instead."""
    if isinstance(error, RemoteError):
        stage, reason = SERVER_REPLY, remote_reason(error)
    else:
        stage, reason = ENCODE_REPLY, describe(error)
    log.info("responder %d: %s: %s", index, stage, reason)
    try:
        reply_to(key, (n, error_reply(codec, stage, reason)))
    except (EOFError, ConnectionError):
        raise
    except Exception as again:
        log.warning("responder %d: could not answer request %d: %s", index, n, describe(again))


def unpack(item, bad: BadRequests) -> tuple | None:
    """(reply key, number, payload), or None for an item of another shape, which is counted and dropped:
    with no reply key there is nobody to answer."""
    try:
        key, n, payload = item
        return key, n, payload
    except (TypeError, ValueError):
        bad.count(DECODE_REQUEST, f"dropped a request of type {type(item).__name__}, not (key, number, value)")
        return None
