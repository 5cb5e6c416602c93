"""The ways a request travels in `reqrep bench`, as a transport declares them."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any


@dataclasses.dataclass(frozen=True)
class BenchPath:
    """One way a request travels in `reqrep bench`: a transport, its codec and its tuning."""

    name: str
    transport: str
    codec: str
    settings: Mapping[str, Any] = dataclasses.field(default_factory=dict)  # the Settings fields that make it
    window: int = 1  # requests in flight per requester, except in the window study
    one_hop: bool = False  # the one-hop shape (--one-hop): its server answers, with no responders of their own
    description: str = ""
    stalls_above: int = 0  # from this payload size on, each request waits out a stall (Nagle): fewer are sent
    # The studies it runs in, by name or group ("sweep": payload, window, stalls, memory; EVERY_STUDY:
    # wherever the plain path does). The plain path runs in every study.
    studies: tuple[str, ...] = ("sweep",)
    pushes: bool = False  # a broker pushes requests to the responders in turn, rather than they pull
    batches: bool = False  # whether a call moves many requests or replies: a request waits for the others

    @property
    def plain(self) -> bool:
        """The transport's own path, as `reqrep run` takes it."""
        return self.name == self.transport


EVERY_STUDY = "every"  # a BenchPath.studies entry: the path runs in every study that its plain path runs in
