"""The workloads: what requesters send, the one handler every responder calls, and how a reply is checked.

`echo` is the seed's: "Hello, <requester-id> <n>" comes back as "... - echoed!".
`rpc` is the blog's: HTTP-like maps {method, path, body} answered by {status, body}.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

ECHO_SUFFIX = " - echoed!"


class Workload(NamedTuple):
    name: str
    request: Callable[[int, int], Any]  # (requester_id, n) -> the n-th request of that requester
    handle: Callable[[Any], Any]  # request -> reply; the responders' only logic

    def expected(self, request: Any) -> Any:
        """The reply a correct run returns: the handler's answer, computed by the requester."""
        return self.handle(request)


# ---- echo (the seed) ----------------------------------------------------------
def echo_request(requester_id: int, n: int) -> str:
    return f"Hello, {requester_id} {n}"


def echo_handle(text: str) -> str:
    if not isinstance(text, str):
        raise TypeError(f"echo expects a str request, got {type(text).__name__}")
    return text + ECHO_SUFFIX


# ---- rpc (the blog's HTTP-like maps) -------------------------------------------
def _route_echo(body):
    return body


def _route_sum(body):
    if not isinstance(body, list) or not all(isinstance(x, int) for x in body):
        raise TypeError("sum expects a list of integers")
    return sum(body)


def _route_divide(body):
    dividend, divisor = body
    return dividend // divisor


ROUTES: dict[tuple[str, str], Callable[[Any], Any]] = {
    ("POST", "/echo"): _route_echo,
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


def handle_any(request: Any) -> Any:
    """What a responder calls: text is the echo workload, a map is rpc. One response side thus serves
    requesters of either workload, as the seed's and the blog's servers would."""
    if isinstance(request, dict):
        return rpc_handle(request)
    return echo_handle(request)


WORKLOADS: dict[str, Workload] = {
    "echo": Workload("echo", echo_request, echo_handle),
    "rpc": Workload("rpc", rpc_request, rpc_handle),
}
