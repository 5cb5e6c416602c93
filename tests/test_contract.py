"""The transport contract (shared/core/transport.py): how many members a transport must write, that its
docstring lists them, and that the command line finds the transports through their entry points."""

from __future__ import annotations

import inspect
from importlib.metadata import entry_points

import plain_transport

from shared.core import registry, transport
from shared.core.transport import Transport

REQUIRED_AT_MOST = 15


def required() -> set[str]:
    return set(Transport.__abstractmethods__)


def test_a_transport_must_write_at_most_fifteen_members():
    assert len(required()) <= REQUIRED_AT_MOST, sorted(required())


def test_the_docstring_names_every_required_member_and_every_optional_one():
    text = transport.__doc__
    documented = text[:text.index("Everything else is OPTIONAL")]
    assert all(f"`{name}`" in documented for name in required()), documented
    optional = {name for name, _ in inspect.getmembers(Transport) if not name.startswith("_")} - required()
    assert all(f"`{name}`" in text for name in optional), sorted(name for name in optional if f"`{name}`" not in text)


def test_a_transport_of_the_required_members_only_is_complete():
    own = {name for name in vars(plain_transport.PlainTransport) if not name.startswith("_")}
    assert own == required()
    assert plain_transport.TRANSPORT.bench_paths[0].name == "plain"
    assert plain_transport.TRANSPORT.semantics_codecs == ("pickle",)


def test_the_transports_are_found_through_their_entry_points_in_their_places():
    found = {entry.name: entry.value for entry in entry_points(group=registry.GROUP)}
    assert found == {"zmq": "zmq_impl:TRANSPORT", "native": "native_impl:TRANSPORT"}
    assert list(registry.load()) == ["zmq", "native"]


def test_a_registered_transport_joins_the_others_and_leaves_when_unregistered():
    registry.register(plain_transport.TRANSPORT)
    try:
        assert list(registry.TRANSPORTS) == ["zmq", "native", "plain"]
    finally:
        registry.unregister("plain")
    assert "plain" not in registry.TRANSPORTS
