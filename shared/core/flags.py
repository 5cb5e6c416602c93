"""A transport's command-line flags, as it declares them (shared/cli/options.py makes them arguments)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple


@dataclasses.dataclass(frozen=True)
class Option:
    """One flag: argparse's arguments, the field it sets, and the commands where it applies (refused elsewhere)."""

    flags: tuple[str, ...]
    dest: str
    help: str
    parts: frozenset[str]
    arguments: Mapping[str, Any] = dataclasses.field(default_factory=dict)  # type, default, metavar ...


def option(*flags: str, dest: str = "", help: str, parts: str, **arguments: Any) -> Option:  # noqa: A002
    """`option("--batch", help=..., parts="run compare serve", action="store_true")`."""
    name = dest or flags[0].lstrip("-").replace("-", "_")
    return Option(tuple(flags), name, help, frozenset(parts.split()), arguments)


class ExtraCommand(NamedTuple):
    """A command of one transport only (`reqrep zmq keys`): its options, and what it does, as lines to print."""

    name: str
    help: str
    options: tuple[Option, ...]
    run: Callable[[dict], list[str]]


class Part(NamedTuple):
    """A part of the response side that a tandem command starts (`reqrep zmq broker`), and its help line."""

    help: str
    server: bool = True  # the broker or server
    responders: bool = True
