"""The workloads: what requesters send, the handler every responder calls, and how a reply is checked.
`echo`: "Hello, <requester-id> <n>" comes back as "... - echoed!"; `rpc`: maps {method, path, body} answered
by {status, body}; `mirror`: each request comes back as the responder received it.
"""

from __future__ import annotations

import logging
import operator
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

from shared.core.wire import identity

log = logging.getLogger(__name__)
ECHO_SUFFIX = " - echoed!"


class Workload(NamedTuple):
    name: str
    request: Callable[[int, int], Any]  # (requester_id, n) -> the n-th request of that requester
    handle: Callable[[Any], Any]  # request -> reply; the responders' only logic
    same: Callable[[Any, Any], bool] = operator.eq  # (expected reply, reply) -> whether the reply is right

    def expected(self, request: Any) -> Any:
        """The reply a correct run returns: the handler's answer, computed by the requester."""
        return self.handle(request)


class UserValues(Protocol):
    """The user's values as a run's requests (--payload): what the core asks of semantics.values.Payload."""

    source: str  # as given: "values.py" or "values.py:frame"

    def workload(self) -> Workload: ...

    def sizes(self, config) -> dict: ...


def echo_request(requester_id: int, n: int) -> str:
    return f"Hello, {requester_id} {n}"


def echo_handle(text: str) -> str:
    if not isinstance(text, str):
        raise TypeError(f"echo expects a str request, got {type(text).__name__}")
    return text + ECHO_SUFFIX


mirror_handle = identity  # the mirror workload's, and rpc's /echo route: a request answered by itself


def _route_sum(body):
    if not isinstance(body, list) or not all(isinstance(x, int) for x in body):
        raise TypeError("sum expects a list of integers")
    return sum(body)


def _route_divide(body):
    dividend, divisor = body
    return dividend // divisor


ROUTES: dict[tuple[str, str], Callable[[Any], Any]] = {
    ("POST", "/echo"): mirror_handle,
    ("POST", "/sum"): _route_sum,
    ("POST", "/divide"): _route_divide,
}


def rpc_request(requester_id: int, n: int) -> dict:
    """A mix of routes that exercises 200, 404 and 500 on the way."""
    kind = n % 100
    if kind == 98:
        return {"method": "POST", "path": "/divide", "body": [n, 0]}  # raises: 500
    if kind == 99:
        return {"method": "GET", "path": "/missing", "body": None}  # no route: 404
    if kind % 3 == 0:
        return {"method": "POST", "path": "/echo", "body": f"Hello, {requester_id} {n}"}
    if kind % 3 == 1:
        return {"method": "POST", "path": "/sum", "body": [requester_id, n, kind]}
    return {"method": "POST", "path": "/divide", "body": [n * 7 + requester_id, kind]}


def rpc_handle(request: Any) -> dict:
    if not isinstance(request, dict) or not {"method", "path", "body"} <= request.keys():
        return {"status": 400, "body": "a request is a map with method, path and body"}
    route = ROUTES.get((request["method"], request["path"]))
    if route is None:
        return {"status": 404, "body": f"no route for {request['method']} {request['path']}"}
    try:
        return {"status": 200, "body": route(request["body"])}
    except Exception as error:  # the blog's contract: a failing handler is a 500, not a dead responder
        return {"status": 500, "body": f"{type(error).__name__}: {error}"}


def mirror_request(requester_id: int, n: int) -> list:
    """Values that every codec carries unchanged, so that a run of this workload verifies each reply."""
    return [requester_id, n, f"Hello, {requester_id} {n}", n / 4, -(2**63) + n, bytes([n % 256]) * 3,
            {"n": n, "none": None, "ok": n % 2 == 0}]


def workload_for(config) -> Workload:
    """The run's workload: the user's values with a payload, echo requests padded to `payload_bytes`."""
    if config.payload is not None:
        return config.payload.workload()
    chosen = WORKLOADS[config.workload]
    size = config.payload_bytes
    if not size:
        return chosen
    padding = "x" * size

    def padded_request(requester_id: int, n: int) -> str:
        text = f"Hello, {requester_id} {n} "
        return text + padding[len(text):]

    return chosen._replace(request=padded_request)


def handle_any(request: Any) -> Any:
    """What a responder calls: text is the echo workload, a map is rpc; one response side serves both."""
    if type(request) is str:  # echo, the common case: answered here, without a further call
        return request + ECHO_SUFFIX
    if isinstance(request, dict):
        return rpc_handle(request)
    return echo_handle(request)


WORKLOADS: dict[str, Workload] = {
    "echo": Workload("echo", echo_request, echo_handle),
    "rpc": Workload("rpc", rpc_request, rpc_handle),
    "mirror": Workload("mirror", mirror_request, mirror_handle),
}


def responder_handler(workload: str) -> Callable[[Any], Any]:
    """What a responder calls for a run of `workload`: echo and rpc share `handle_any`; mirror has its own."""
    return mirror_handle if workload == "mirror" else handle_any


# The stages where a value may fail, in order (at the server: where the server decodes what it passes on).
BUILD_VALUE = "building at the requester"
ENCODE_REQUEST = "encoding at the requester"
SERVER_REQUEST = "unpickling at the server"
DECODE_REQUEST = "decoding at the responder"
HANDLE_REQUEST = "handling at the responder"
ENCODE_REPLY = "encoding the reply at the responder"
SERVER_REPLY = "on the way back, at the server"
DECODE_REPLY = "decoding the reply at the requester"
NO_REPLY = "waiting for the reply"
COMPARE_REPLY = "comparing the reply at the requester"
MAX_ERROR_TEXT = 300


class Delivery(NamedTuple):
    """What came back for one request: its reply, or the stage where it failed and the error."""

    reply: Any = None
    stage: str = ""  # empty when a reply came back
    error: str = ""  # "TypeError: can not serialize 'set' object"

    @property
    def failed(self) -> bool:
        return bool(self.stage)


def one_line(error: BaseException | str) -> str:
    """An error in one line that every codec can carry: no lone surrogates, no newlines, bounded length."""
    message = " ".join(str(error).split())
    if isinstance(error, str):
        text = message
    else:
        text = f"{type(error).__name__}: {message}" if message else type(error).__name__
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= MAX_ERROR_TEXT else text[:MAX_ERROR_TEXT - 1] + "…"


def error_body(stage: str, error: BaseException | str) -> dict:
    """A responder's answer to a request it could not decode, handle or encode: an rpc error and its stage."""
    return {"status": 400, "body": one_line(error), "stage": stage}


def delivery_of(reply: Any) -> Delivery:
    """A reply as a Delivery: an error reply becomes its stage and error."""
    if isinstance(reply, dict) and reply.keys() == {"status", "body", "stage"} and reply["status"] == 400:
        return Delivery(stage=str(reply["stage"]), error=str(reply["body"]))
    return Delivery(reply)


LOGGED_BAD_REQUESTS = 5  # the first few bad requests are logged each, then one line per thousand


class BadRequests:
    """Counts a responder's bad requests and logs the first few, then one in a thousand."""

    def __init__(self, index: int) -> None:
        self.index, self.seen = index, 0

    def count(self, stage: str, error: BaseException | str) -> None:
        self.seen += 1
        if self.seen <= LOGGED_BAD_REQUESTS or self.seen % 1000 == 0:
            log.info("responder %d: bad request #%d: %s: %s", self.index, self.seen, stage, one_line(error))


def answer(handle: Callable[[Any], Any], codec, payload: Any,
           error_reply: Callable[[Any, str, BaseException], Any], bad: BadRequests) -> Any:
    """The encoded reply to one request, or the transport's error reply naming the stage that failed."""
    stage = DECODE_REQUEST
    try:
        request = codec.decode(payload)
        stage = HANDLE_REQUEST
        reply = handle(request)
        stage = ENCODE_REPLY
        return codec.encode(reply)
    except Exception as error:  # RecursionError and MemoryError too: the responder goes on
        bad.count(stage, error)
        return error_reply(codec, stage, error)
