"""The errors a user can fix or must be told of: each becomes one sentence on the command line."""

class UsageError(Exception):
    """A mistake the user can fix; the command line prints it as one sentence and exits 2."""


# A MemoryError's message is empty: what reqrep says instead, in a role and on the command line.
OUT_OF_MEMORY = ("out of memory: the run asks for more than this machine has (a smaller --payload-bytes, --payload, "
                 "--requesters or --window fits)")


class PeerLost(UsageError):
    """A role's broker or server went away while it served: one sentence, and the command exits 2."""
