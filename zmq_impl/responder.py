"""A responder: a REP socket that decodes each request, calls the workload's handler, encodes the reply; for
a balancing broker (`--broker balancing`), a DEALER that says when it is free and sends heartbeats.
A reply starts with its request's number (codec.py). `answerer` is all of it but the socket.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import zmq

from shared.core.channel import complete
from shared.core.config import RunConfig
from shared.core.peers import Peer, notice_level
from shared.core.service_time import service_delay
from shared.core.wire import Codec
from shared.core.workload import DECODE_REQUEST, BadRequests, answer, responder_handler
from zmq_impl.balancing import Duty, Frames
from zmq_impl.blocking import BLOCKING, Form
from zmq_impl.codec import CODECS, ID_BYTES, ID_MARKER, carries_id, error_reply, own_codec
from zmq_impl.connection import client_socket, connect, shared_context
from zmq_impl.curve import RESPONDER_KEY, secure_server, start_authenticator
from zmq_impl.server import bind, handshake_ms

# Below this size a slice of a frame (a copy) costs fewer instructions than a memoryview of it, above it more.
VIEW_FROM = 8 * 1024


def answerer(config: RunConfig, bad: BadRequests) -> Callable[[bytes], bytes]:
    """frame -> reply frame. Every request gets a reply, an error reply (status 400 naming the stage that
    failed) if need be: a REP socket must answer before it can receive again. Raw frames carry no number."""
    handle, codec = responder_handler(config.workload), own_codec(config.codec)
    decode, encode = codec.decode, codec.encode

    def numbered(frame: bytes) -> bytes:
        size = len(frame)
        if size > ID_BYTES and frame[0] == ID_MARKER:
            number, body = frame[:ID_BYTES], frame[ID_BYTES:] if size < VIEW_FROM else memoryview(frame)[ID_BYTES:]
        else:
            number, body = b"", frame
        try:
            return number + encode(handle(decode(body)))
        except Exception:
            return number + answer(handle, codec, body, error_reply, bad)  # stage by stage, to name it

    def plain(frame: bytes) -> bytes:
        try:
            return encode(handle(decode(frame)))
        except Exception:
            return answer(handle, codec, frame, error_reply, bad)

    return numbered if carries_id(codec) else plain


def frames_reply(frames: list, codec: Codec, bad: BadRequests) -> bytes:
    """The error reply to a request that came in more frames than one, or none; numbered as its first."""
    problem = ValueError(f"a request is one frame, this one had {len(frames)}")
    bad.count(DECODE_REQUEST, problem)
    frame = frames[0] if frames else b""
    number = frame[:ID_BYTES] if carries_id(codec) and len(frame) > ID_BYTES and frame[0] == ID_MARKER else b""
    return number + error_reply(codec, DECODE_REQUEST, problem)


def listen_or_connect(config: RunConfig, index: int, socket: zmq.Socket):
    """(the authenticator to stop, the peer to connect to): the hello example's REP socket binds the front
    address itself, admitting CURVE clients by their keys; others connect to the broker's back address."""
    if config.example == "hello":
        socket.handshake_ivl = handshake_ms(config)
        secure_server(socket, config.settings.curve)
        handler = start_authenticator(config.settings.curve, shared_context())
        try:
            bind(socket, config.address)
        except BaseException:
            if handler is not None:
                handler.stop()
            raise
        return handler, None
    return None, peer_of(config, index)


def responder_key(config: RunConfig) -> str | None:
    """A responder's CURVE key pair, which the broker's back admits; none for the hello example's server."""
    return None if config.example == "hello" else RESPONDER_KEY


def peer_of(config: RunConfig, index: int) -> Peer:
    return Peer(config.role(f"responder {index}"), config.role("broker"), config.settings.back_address,
                notice_level(index))


def respond(config: RunConfig, index: int, ready) -> None:
    """Answer requests until stopped (the context terminated)."""
    complete(responding(config, index, ready, BLOCKING))


async def responding(config: RunConfig, index: int, ready, form: Form) -> None:
    """`respond` in any form: the blocking one, or an asyncio task's (tasks.respond)."""
    if config.settings.broker == "balancing":
        await work(config, index, ready, form)
        return
    bad = BadRequests(index)
    reply_to, delay = answerer(config, bad), service_delay(config)
    try:
        socket = client_socket(config, zmq.REP, asynchronous=form.asynchronous, key=responder_key(config))
    except zmq.ContextTerminated:
        return
    handler = watch = None
    try:
        handler, peer = listen_or_connect(config, index, socket)
        if peer is not None:  # waits for the broker, started in any order; blocking, notes its departures
            watch = await connect(config, peer, socket, form, watch=not form.asynchronous)
        ready.set()
        recv, send, sleep = form.receiver(socket), form.sender(socket, config), form.sleep
        asynchronous = form.asynchronous  # the blocking form's recv and send are plain calls
        while True:
            frame = await recv() if asynchronous else recv()
            if delay:
                await sleep(delay())
            try:
                await send(reply_to(frame)) if asynchronous else send(reply_to(frame))
            except zmq.ZMQError as error:
                if error.errno != zmq.EFSM:
                    raise
                # More frames follow, for REP to take before it answers: checked here, on the rare path only.
                frames = [frame, *await form.frames_receiver(socket)()]
                await form.frames_sender(socket)([frames_reply(frames, CODECS[config.codec], bad)])
    except zmq.ContextTerminated:
        pass
    finally:
        if watch is not None:
            watch.stop()
        socket.close()
        if handler is not None:
            handler.stop()


async def work(config: RunConfig, index: int, ready, form: Form) -> None:
    """A responder for a balancing broker (balancing.Duty), until stopped."""
    bad, codec, delay = BadRequests(index), CODECS[config.codec], service_delay(config)
    shift = Duty(config, peer_of(config, index), answerer(config, bad),
                 lambda frames: frames_reply(frames, codec, bad), bad)
    try:
        socket = client_socket(config, zmq.DEALER, asynchronous=form.asynchronous, key=responder_key(config))
    except zmq.ContextTerminated:
        return
    try:
        socket.routing_id = f"responder {index} {uuid.uuid4().hex[:6]}".encode()  # unique across restarts
        await connect(config, peer_of(config, index), socket, form)
        tell, poll, receive = teller(socket, form), form.poller(socket), form.frames_receiver(socket)
        await tell(shift.hello())
        ready.set()
        while True:
            if await poll(shift.wait_ms()):
                request = shift.heard(await receive())
                if request is not None:
                    if delay:
                        await form.sleep(delay())
                    await tell(shift.answer(request))
            await tell(shift.due())
    except zmq.ContextTerminated:
        pass
    finally:
        socket.close()


def teller(socket: zmq.Socket, form: Form) -> Callable:
    """Send to the broker if there is something to send; one it does not take in time is lost (sent again)."""
    send = form.frames_sender(socket)

    async def tell(frames: Frames | None) -> None:
        if frames is not None:
            try:
                await send(frames)
            except zmq.Again:
                pass
    return tell
