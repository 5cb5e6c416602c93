"""Values on the native side: the manager pickles them, so the program sends Python objects as they are."""

from __future__ import annotations

from shared.codec import Codec, identity
from shared.workload import error_body

CODECS: dict[str, Codec] = {
    "pickle": Codec("pickle", identity, identity),
}
DEFAULT_CODEC = "pickle"


def error_reply(codec: Codec, stage: str, error: BaseException | str) -> dict:
    """What a responder answers to a request it cannot handle, so that the requester is not left waiting."""
    return error_body(stage, error)
