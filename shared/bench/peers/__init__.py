"""The peers of `reqrep bench --preset peers`: the Python libraries a user might pick instead of reqrep, each
a small adapter (peer.py) that bridge.py turns into a transport of the bench. Their libraries come with the
optional extra `peers`; a peer whose library is missing is left out, and the report says so."""

from __future__ import annotations

from shared.bench.peers.bridge import PeerTransport
from shared.bench.peers.connection import ConnectionPeer
from shared.bench.peers.grpc_generic import GrpcPeer
from shared.bench.peers.http_keepalive import HttpPeer
from shared.bench.peers.peer import Peer
from shared.bench.peers.pyro import PyroPeer
from shared.bench.peers.rpyc_service import RpycPeer
from shared.bench.peers.zerorpc_service import ZerorpcPeer

INSTALL = "pip install -e '.[peers]'"  # what brings every peer's library
PEERS: dict[str, Peer] = {peer.name: peer for peer in (
    ConnectionPeer(), HttpPeer(), GrpcPeer(), PyroPeer(), RpycPeer(), ZerorpcPeer())}


def transports(names: tuple[str, ...]) -> dict[str, PeerTransport]:
    """The peers named whose libraries import here, as transports of the bench."""
    return {name: PeerTransport(PEERS[name]) for name in names if PEERS[name].installed()}


def left_out(names: tuple[str, ...]) -> list[str]:
    """The peers named whose libraries do not import here."""
    return [name for name in names if not PEERS[name].installed()]
