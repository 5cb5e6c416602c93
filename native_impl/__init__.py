"""The Python-native variant: pickled objects in multiprocessing.managers queues over TCP.
`TRANSPORT` is what the core sees of it (shared/core/transport.py)."""

from native_impl.transport import TRANSPORT

__all__ = ["TRANSPORT"]
