"""A responder: takes requests from the shared queue, calls the workload's handler, and has the server put
the reply into the requester's own reply queue. `answerer` is all of it but the manager calls."""

from __future__ import annotations

import logging
from collections.abc import Callable
from multiprocessing.managers import RemoteError

from native_impl.blocking import Calls
from native_impl.codec import CODECS, error_reply, own_codec
from native_impl.connection import lost, remote_reason
from shared.core.channel import complete
from shared.core.config import RunConfig
from shared.core.errors import PeerLost
from shared.core.peers import Peer, notice_level
from shared.core.service_time import service_delay
from shared.core.wire import Codec
from shared.core.workload import (
    DECODE_REQUEST,
    ENCODE_REPLY,
    SERVER_REPLY,
    BadRequests,
    answer,
    one_line,
    responder_handler,
)

log = logging.getLogger(__name__)
Answered = tuple  # (reply key, (number, encoded reply)): the arguments of the board's `reply`


def answerer(config: RunConfig, bad: BadRequests) -> Callable[[object], Answered | None]:
    """item -> the board's `reply` arguments, or None for an item of another shape, counted and dropped (no
    reply key, nobody to answer). Every request gets a reply, an error reply if need be."""
    handle, codec = responder_handler(config.workload), own_codec(config.codec)
    decode, encode = codec.decode, codec.encode

    def answer_item(item) -> Answered | None:
        try:
            key, n, payload = item
        except (TypeError, ValueError):
            bad.count(DECODE_REQUEST, f"dropped a request of type {type(item).__name__}, not (key, number, value)")
            return None
        try:
            return key, (n, encode(handle(decode(payload))))
        except Exception:
            return key, (n, answer(handle, codec, payload, error_reply, bad))  # stage by stage, to name it

    return answer_item


def peer_of(config: RunConfig, index: int) -> Peer:
    return Peer(config.role(f"responder {index}"), config.role("server"), config.address, notice_level(index))


def respond(config: RunConfig, index: int, ready) -> None:
    """Answer requests until stopped (handed None, or the server gone)."""
    complete(responding(config, index, ready, Calls()))


async def responding(config: RunConfig, index: int, ready, calls: Calls) -> None:
    """`respond` in any form: its manager calls made here, or on an asyncio task's thread (tasks.respond)."""
    peer = peer_of(config, index)
    try:
        bad = BadRequests(index)
        answer_item, codec, delay = answerer(config, bad), CODECS[config.codec], service_delay(config)
        board = await calls.connect(config, peer)
        requests = await calls.proxy(board.requests)
        ready.set()
        if config.settings.batch:
            await respond_in_batches(config, index, board, answer_item, codec, delay, calls)
            return
        call, get, reply_to, sleep = calls.call, requests.get, board.reply, calls.sleep
        while True:
            try:
                item = await call(get)
            except (EOFError, ConnectionError):
                raise
            except Exception as error:  # it would not unpickle here: whose it was is lost with it
                log.warning("responder %d: dropped a request that could not be received: %s", index, one_line(error))
                continue
            if item is None:
                break
            if delay:
                await sleep(delay())
            answered = answer_item(item)
            if answered is not None:
                await call(send_reply, reply_to, answered, codec, index)
    except (EOFError, ConnectionError) as error:
        raise PeerLost(lost(peer, error)) from None  # its queues went with it: nothing to reconnect to
    finally:
        calls.close()


async def respond_in_batches(config: RunConfig, index: int, board, answer_item, codec: Codec, delay,
                             calls: Calls) -> None:
    """The tuned loop (--batch): take the requests waiting, up to --batch-size, in one call; answer them all
    in one call (one at a time if the server cannot take them all: each requester hears of its own)."""
    while True:
        items = await calls.call(board.take_requests, config.settings.batch_size)
        if delay:  # each request's service time, one after the other, since their replies go together
            await calls.sleep(sum(delay() for item in items if item is not None))
        end = next((at for at, item in enumerate(items) if item is None), len(items))  # None: stop
        answers = [answered for answered in map(answer_item, items[:end]) if answered is not None]
        await calls.call(reply_batch, board, answers, codec, index)
        if end < len(items):
            return


def reply_batch(board, answers: list[Answered], codec: Codec, index: int) -> None:
    try:
        board.reply_many(answers)
    except (EOFError, ConnectionError):
        raise
    except Exception:  # one reply would not pickle here, or not unpickle there
        for answered in answers:
            send_reply(board.reply, answered, codec, index)


def send_reply(reply_to, answered: Answered, codec: Codec, index: int) -> None:
    """Have the server put the reply into the requester's queue. It is pickled here and unpickled there; if
    either fails, the requester gets an error reply naming the stage instead."""
    try:
        reply_to(*answered)
        return
    except (EOFError, ConnectionError):
        raise
    except RemoteError as error:
        stage, reason = SERVER_REPLY, remote_reason(error)
    except Exception as error:
        stage, reason = ENCODE_REPLY, one_line(error)
    key, (n, _) = answered
    log.info("responder %d: %s: %s", index, stage, reason)
    try:
        reply_to(key, (n, error_reply(codec, stage, reason)))
    except (EOFError, ConnectionError):
        raise
    except Exception as again:
        log.warning("responder %d: could not answer request %d: %s", index, n, one_line(again))
