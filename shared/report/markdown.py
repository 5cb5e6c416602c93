"""The one Markdown table writer, and the side-by-side table as `--markdown` writes it."""

from __future__ import annotations

from shared.core.machine import machine_sentence
from shared.report.records import Document
from shared.report.rows import cells, ratio_lines, title

SPECIAL = set("\\`*_|<>[]")  # what would otherwise turn into emphasis, tags, links or new cells


def escaped(text: str) -> str:
    return "".join(f"\\{c}" if c in SPECIAL else c for c in text)


def markdown_table(header: list[str], rows: list[list[str]], *, numbers: bool = True,
                   escape: bool = False) -> list[str]:
    """A table's lines: the first column left-aligned, the others right-aligned when they hold `numbers`; each
    cell of the body `escape`d when it may hold text that Markdown would read as markup."""
    shown = [[escaped(cell) for cell in row] for row in rows] if escape else rows
    rule = "|---|" + ("---:|" if numbers else "---|") * (len(header) - 1)
    return ["| " + " | ".join(header) + " |", rule, *("| " + " | ".join(row) + " |" for row in shown)]


def run_markdown(document: Document) -> str:
    header, body = cells(document)
    notes = ratio_lines(document) + made(document)
    lines = [f"**{title(document)}**", "", *markdown_table(header, body)]
    return "\n".join(lines + ([""] + notes if notes else [])) + "\n"


def made(document: Document) -> list[str]:
    """Where a Markdown table comes from: the command, when, and on what (when recorded)."""
    if document.command is None or document.machine is None:
        return []
    date = document.stamp.date
    return [f"Made by `{document.command}` on {date[:10]} at {date[11:16]} UTC, on "
            f"{machine_sentence(document.machine)}."]
