"""The command line, the top layer: the only package that knows the transports."""

from shared.cli.commands import main

__all__ = ["main"]
