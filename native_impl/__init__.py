"""The Python-native variant: pickled objects in multiprocessing.managers queues over TCP."""

from native_impl import codec, requester, responder, server, tasks

__all__ = ["codec", "requester", "responder", "server", "tasks"]
