"""Who waits for whom: the sentences a role says about its broker or server, and how loudly."""

from __future__ import annotations

import logging
from typing import NamedTuple

log = logging.getLogger(__name__)


class Peer(NamedTuple):
    """Who waits for whom, where, and how loudly it says so."""

    who: str  # "zmq responder 0"
    name: str  # "zmq broker"
    address: str
    level: int = logging.WARNING

    def say(self, what: str, then: str = "") -> None:
        log.log(self.level, "%s: %s the %s at %s%s", self.who, what, self.name, self.address, then)


def notice_level(index: int) -> int:
    """The first role of its kind says it waits for, or lost, its peer for all of them; the others with -v."""
    return logging.WARNING if index == 0 else logging.INFO
