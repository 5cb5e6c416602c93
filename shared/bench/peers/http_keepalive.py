"""HTTP/1.1 keep-alive on the standard library: a ThreadingHTTPServer (a thread per connection, Nagle's
algorithm off) answers each POST; a requester keeps one http.client connection for all its requests."""

from __future__ import annotations

import http.client
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from shared.bench.peers.peer import Answer, Peer

PATH = "/echo"


def handler_for(answer: Answer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive
        disable_nagle_algorithm = True  # the headers and the body are two writes

        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = answer(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args) -> None:  # noqa: A002 (http.server's name)
            pass  # a line on stderr per request otherwise

    return Handler


class HttpClient:
    def __init__(self, host: str, port: int, timeout: float) -> None:
        # http.client sets TCP_NODELAY itself, and sends a request's headers and body in one write
        self.connection = http.client.HTTPConnection(host, port, timeout=timeout)
        self.connection.connect()

    def call(self, message: bytes) -> bytes:
        try:
            self.connection.request("POST", PATH, message)
            response = self.connection.getresponse()
            body = response.read()
        except TimeoutError:
            self.connection.close()  # a late reply must not answer the next request: the next opens anew
            raise
        except (OSError, http.client.HTTPException) as error:
            raise ConnectionError(f"the server went away: {error}") from error
        if response.status != 200:
            raise ConnectionError(f"the server answered {response.status} {response.reason}")
        return body

    def close(self) -> None:
        self.connection.close()


class HttpPeer(Peer):
    name = "http"
    label = "stdlib HTTP/1.1 keep-alive"
    module = "http.server"
    title = "HTTP/1.1 keep-alive on the standard library: ThreadingHTTPServer, Nagle off; http.client"
    hops = "client → server thread: 1 hop"

    def serve(self, host: str, port: int, answer: Answer, workers: int, ready) -> None:
        with ThreadingHTTPServer((host, port), handler_for(answer)) as server:
            ready.set()
            server.serve_forever()

    def connect(self, host: str, port: int, timeout: float) -> HttpClient:
        return HttpClient(host, port, timeout)
