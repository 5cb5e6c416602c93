"""A delaying TCP relay: forwards TCP both ways and holds every chunk D ms, one way, before passing it on.
It stands in for the network delay that `tc qdisc ... netem delay` would add, on kernels without netem.

    python benchmarks/relay.py --delay-ms 2 --route 127.0.0.1:0=127.0.0.1:5555 [--route LISTEN=TARGET ...]

Once listening it prints one line per route, `relay serving on HOST:PORT -> HOST:PORT` (port 0 picks a free
one), and runs until SIGTERM, Ctrl-C or --lifetime seconds. Connection set-up is not delayed, only the
bytes: a round trip through the relay costs 2 x D plus the relay's own few tens of microseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

CHUNK_BYTES = 256 * 1024
HELD_CHUNKS = 1024  # per direction: beyond this the relay stops reading, and TCP pushes back on the sender


def parse_address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, not {text!r}")
    return host, int(port)


def parse_route(text: str) -> tuple[tuple[str, int], tuple[str, int]]:
    listen, _, target = text.partition("=")
    return parse_address(listen), parse_address(target)


async def carry(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    """One direction: read chunks as they come, write each `delay` seconds after it was read, in order.
    End of stream is passed on (after its delay too) as a half close."""
    loop = asyncio.get_running_loop()
    held: asyncio.Queue = asyncio.Queue(HELD_CHUNKS)

    async def deliver() -> None:
        while True:
            due, data = await held.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()

    sender = asyncio.create_task(deliver())
    try:
        while True:
            data = await reader.read(CHUNK_BYTES)
            await held.put((loop.time() + delay, data))
            if not data:
                break
        await sender
    finally:
        sender.cancel()


async def relay(client: tuple, target: tuple[str, int], delay: float, active: set) -> None:
    client_reader, client_writer = client
    active.add(asyncio.current_task())
    try:
        upstream_reader, upstream_writer = await asyncio.open_connection(*target)
    except OSError:
        client_writer.close()  # nothing listens behind us: the client sees its connection end
        return
    directions = [asyncio.create_task(carry(client_reader, upstream_writer, delay)),
                  asyncio.create_task(carry(upstream_reader, client_writer, delay))]
    try:
        # Both directions end with EOF in a clean close; an error in either (a reset) ends the connection.
        await asyncio.wait(directions, return_when=asyncio.FIRST_EXCEPTION)
    except asyncio.CancelledError:
        pass  # the relay is stopping: end quietly (asyncio's stream callback trips over a cancelled task)
    finally:
        for task in directions:
            task.cancel()
        for writer in (client_writer, upstream_writer):
            writer.close()
        await asyncio.gather(*directions, return_exceptions=True)
        active.discard(asyncio.current_task())


async def main(routes: list, delay: float, lifetime: float) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    servers, active = [], set()
    try:
        for listen, target in routes:
            server = await asyncio.start_server(
                lambda r, w, target=target: relay((r, w), target, delay, active), *listen, reuse_address=True)
            servers.append(server)
            host, port = server.sockets[0].getsockname()[:2]
            print(f"relay serving on {host}:{port} -> {target[0]}:{target[1]} (delay {delay * 1000:g} ms)",
                  flush=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), lifetime)
    finally:
        for server in servers:
            server.close()
        for task in list(active):
            task.cancel()
        await asyncio.gather(*active, return_exceptions=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--route", type=parse_route, action="append", required=True, metavar="LISTEN=TARGET",
                        help="listen on HOST:PORT and relay each connection to HOST:PORT")
    parser.add_argument("--delay-ms", type=float, default=2.0, help="one-way delay per chunk (default 2)")
    parser.add_argument("--lifetime", type=float, default=3600.0, help="exit after this many seconds")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.route, arguments.delay_ms / 1000, arguments.lifetime))
