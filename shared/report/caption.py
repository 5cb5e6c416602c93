"""The title of a side-by-side table: what every run shares, said once; a parameter in which runs differ
gets a row instead."""

from __future__ import annotations

from collections.abc import Callable

from shared.core.config import NOT_RECORDED, counted
from shared.report.records import Comparison, Document, Variant, variants

NOTHING = "—"  # a cell with nothing to say; a row of nothing but these is left out


def payload(run: Variant) -> str:
    return f" (payload {run.parameters['payload']})" if run.parameters.get("payload") else ""


def responders(run: Variant) -> int | str:
    return NOTHING if run.parameters.get("part") == "request" else run.parameters.get("responders", NOT_RECORDED)


def number(value: int | str) -> str:
    return f"{value:,}" if isinstance(value, int) else value


# The parts of a title, in order: (a row's name, the run's value in a cell, the value in the title's words).
PARTS: list[tuple[str, Callable[[Variant], str], Callable[[Variant], str]]] = [
    ("example", lambda run: run.parameters.get("example", NOT_RECORDED),
     lambda run: f"{run.parameters['example']} example"),
    ("workload", lambda run: f"{run.parameters.get('workload', NOT_RECORDED)}{payload(run)}",
     lambda run: f"{run.parameters['workload']} workload{payload(run)}"),
    ("requests", lambda run: number(run.requests), lambda run: counted(run.requests, "request")),
    ("requesters", lambda run: number(run.parameters.get("requesters", NOT_RECORDED)),
     lambda run: counted(run.parameters["requesters"], "requester")),
    ("responders", lambda run: number(responders(run)),
     lambda run: counted(run.parameters["responders"], "responder")),
]
HEAD = ("example", "workload")  # before the colon; the counts after it


def shared_parts(runs: list[Variant]) -> dict[str, str]:
    """{part: its words in the title} for each part whose value every run shares (and has)."""
    return {name: words(runs[0]) for name, value, words in PARTS
            if len({value(run) for run in runs}) == 1 and value(runs[0]) not in (NOTHING, NOT_RECORDED)}


def differing_rows(runs: list[Variant]) -> list[tuple[str, Callable[[Variant], str]]]:
    """A table row for each part of the title that the runs do not share."""
    return [(name, value) for name, value, _ in PARTS if len({value(run) for run in runs}) > 1]


def title(document: Document) -> str:
    """'router example, echo workload: 2,000 requests in 3 rounds, 5 requesters, 5 responders', saying only
    what all the runs share; the rest is in rows (differing_rows)."""
    runs = variants(document)
    shared = shared_parts(runs)
    rounds = {len(run.rounds) for run in runs}
    if "requests" in shared and len(rounds) == 1 and min(rounds) > 1:
        alternating = isinstance(document, Comparison) and len(runs) > 1 and document.alternated
        shared["requests"] += f" in {min(rounds)} rounds" + (", the variants alternating" if alternating else "")
    head = ", ".join(words for name, words in shared.items() if name in HEAD)
    counts = ", ".join(words for name, words in shared.items() if name not in HEAD)
    return ": ".join(part for part in (head, counts) if part) or "runs side by side"
