"""A fault inflicted on a run on purpose (`--fault`): a responder killed (SIGKILL) or hung (SIGSTOP, continued
when the run ends), once a share of the requests is answered or some seconds after the release.

    kill                     responder 1, once a third of the requests are answered
    hang@2.5s                responder 1, 2.5 s after the release
    kill:responder 0@50%     responder 0, once half the requests are answered
"""

from __future__ import annotations

import re
import signal
from dataclasses import dataclass

from shared.core.errors import UsageError

SIGNALS = {"kill": signal.SIGKILL, "hang": signal.SIGSTOP}
_SPEC = re.compile(r"^(?P<kind>[a-z]+)(?::responder (?P<index>\d+))?(?:@(?P<at>\d+(?:\.\d+)?)(?P<unit>s|%))?$")
DEFAULT_SHARE = 1 / 3


@dataclass(frozen=True)
class Fault:
    kind: str  # kill or hang
    responder: int  # which responder
    share: float = DEFAULT_SHARE  # once this share of the requests is answered ...
    seconds: float | None = None  # ... or, if set, this many seconds after the requesters were released

    def due(self, elapsed: float, answered: int, planned: int) -> bool:
        if self.seconds is not None:
            return elapsed >= self.seconds
        return answered >= self.share * planned

    def describe(self, at_seconds: float) -> str:
        return f"responder {self.responder} {'killed' if self.kind == 'kill' else 'hung'} at {at_seconds:.2f} s"


def parse_fault(text: str, responders: int) -> Fault:
    """The fault `text` describes, checked against the run's responders."""
    match = _SPEC.match(text.strip())
    if not match or match["kind"] not in SIGNALS:
        raise UsageError(f"--fault {text!r} is not a fault: KIND[:responder N][@SECONDSs or @PERCENT%], KIND one of "
                         f"{', '.join(SIGNALS)} (for example hang@2.5s)")
    index = int(match["index"]) if match["index"] is not None else min(1, responders - 1)
    if not 0 <= index < responders:
        raise UsageError(f"--fault {text!r}: there is no responder {index} among {responders}")
    if match["at"] is None:
        return Fault(match["kind"], index)
    at = float(match["at"])
    if match["unit"] == "%":
        if not 0 <= at <= 100:
            raise UsageError(f"--fault {text!r}: a share of the requests is from 0% to 100%")
        return Fault(match["kind"], index, share=at / 100)
    return Fault(match["kind"], index, seconds=at)
