"""The one-hop shape of ZeroMQ (`--one-hop`): one ROUTER bound on the front address answers every request
itself, in place, with a responder's own `answerer`; a request crosses one hop (requester → server) where
the seed's shape takes two (requester → broker → responder). The requesters are the seed's, unchanged: a REQ
(or, with --window, a DEALER) that reaches a ROUTER here rather than a broker's.

One thread answers. Measured on the seed's echo workload against worker threads behind an inproc DEALER and
against a REP socket bound per requester, it was the fastest: under one GIL more threads bring no parallel
Python, only a handoff more per request.
"""

from __future__ import annotations

import zmq

from shared.core.config import RunConfig
from shared.core.workload import BadRequests
from zmq_impl.balancing import Frames, envelope_of
from zmq_impl.blocking import RCVMORE, SNDMORE
from zmq_impl.codec import CODECS
from zmq_impl.connection import shared_context
from zmq_impl.curve import FRONT, start_authenticator
from zmq_impl.responder import answerer, frames_reply
from zmq_impl.server import server_socket

SERVER_INDEX = 0  # how the server names itself when it logs a bad request, as a responder would


def serve(config: RunConfig, ready) -> None:
    """Answer requests on the front address until stopped: SIGTERM in its own process (raised out of a
    blocking receive), `stop_threads` in threads (the context terminated)."""
    handler = start_authenticator(config.settings.curve, shared_context(), (FRONT,))
    try:
        socket = server_socket(config, zmq.ROUTER, config.address)
    except BaseException:
        if handler is not None:
            handler.stop()
        raise
    try:
        ready.set()
        answer_in_place(socket, config)
    except zmq.ContextTerminated:
        pass
    finally:
        socket.close()
        if handler is not None:
            handler.stop()


def answer_in_place(socket: zmq.Socket, config: RunConfig) -> None:
    """The server's loop: each request answered in its envelope. A REQ's request is three frames (its
    identity, the empty delimiter, the body); anything else takes `odd_request`."""
    bad = BadRequests(SERVER_INDEX)
    reply_to, odd = answerer(config, bad), odd_request(config, bad)
    recv, send, more = socket.recv, socket.send, socket.get
    while True:
        frames = [recv()]
        while more(RCVMORE):
            frames.append(recv())
        if len(frames) == 3 and not frames[1]:
            send(frames[0], SNDMORE)
            send(b"", SNDMORE)
            send(reply_to(frames[2]))
            continue
        reply = odd(frames)
        if reply is not None:
            for frame in reply[:-1]:
                send(frame, SNDMORE)
            send(reply[-1])


def odd_request(config: RunConfig, bad: BadRequests):
    """frames -> the reply in its envelope, or None. A request through routers on the way (a shared
    connection's request router) is answered in its whole envelope; one of several frames gets an error
    reply, as a REP responder gives it; one with no envelope has nowhere to go, and is dropped."""
    reply_to, codec = answerer(config, bad), CODECS[config.codec]

    def answer(frames: Frames) -> Frames | None:
        envelope = envelope_of(frames)
        if envelope is None:
            bad.count("routing at the server", "dropped a request with no envelope (no empty delimiter frame)")
            return None
        body = frames[len(envelope):]
        if len(body) == 1:
            return [*envelope, reply_to(body[0])]
        return [*envelope, frames_reply(body, codec, bad)]

    return answer
