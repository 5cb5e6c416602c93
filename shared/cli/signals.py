"""How a command meets signals: what stops a server, and ending by the signal that stopped it."""

from __future__ import annotations

import os
import signal
import sys

EXIT_SIGINT, EXIT_SIGTERM = 130, 143


def how_to_stop() -> str:
    """What stops a server: a background job (`&`) has SIGINT ignored, and Python keeps it so."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        return f"SIGINT is ignored here (a background job): stop it with SIGTERM, kill {os.getpid()}"
    return "Ctrl-C to stop"


def ended_by(signum: int, argv: list[str] | None) -> int:
    """End by `signum` as its default action would; in-process (`argv` given: a test), its exit status."""
    if argv is None:
        sys.stdout.flush()
        sys.stderr.flush()
        signal.signal(signum, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signum})
        os.kill(os.getpid(), signum)
    return EXIT_SIGINT if signum == signal.SIGINT else EXIT_SIGTERM
