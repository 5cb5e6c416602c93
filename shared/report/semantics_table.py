"""The semantics table: what each path does to Python values, end to end, for the terminal and as Markdown
(the README holds the brief one), and its JSON."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from shared.core.outputs import write_json, write_text
from shared.report.markdown import markdown_table
from shared.semantics.outcomes import Outcome, Row

OUTCOME_STYLE = {"identical": "green", "changed": "yellow", "error": "red"}


def semantics_header(rows: list[Row], brief: bool = False) -> list[str]:
    paths = list(rows[0].outcomes) if rows else []
    return ["case", "type", *paths] if brief else ["case", "value", "type", *paths, "agree"]


def outcome_text(outcome: Outcome, brief: bool = False) -> str:
    """'error: encoding at the requester: TypeError: can not ...'; briefly, '= ', the change, or the stage
    and the exception's type: 'error encoding at the requester (TypeError)'."""
    if not brief:
        return f"{outcome.outcome}: {outcome.detail}" if outcome.detail else outcome.outcome
    if outcome.outcome == "identical":
        return "="
    if outcome.outcome == "changed":
        return outcome.detail
    stage, _, error = outcome.detail.partition(": ")
    return f"error {stage} ({error.split(':', 1)[0]})" if error else f"error {stage}"


def shown_rows(rows: list[Row], brief: bool) -> list[Row]:
    """Every row; briefly, those where the paths disagree."""
    return [row for row in rows if not (brief and row.agree)]


def semantics_cells(row: Row, brief: bool = False) -> list[str]:
    outcomes = [outcome_text(outcome, brief) for outcome in row.outcomes.values()]
    if brief:
        return [row.case, row.type, *outcomes]
    return [row.case, row.value, row.type, *outcomes, "yes" if row.agree else "no"]


def semantics_table(rows: list[Row], brief: bool = False) -> Table:
    title = "Where the paths disagree" if brief else "What each path does to Python values, end to end"
    shown = Table(title=title, title_justify="left")
    leading = 2 if brief else 3
    for name in semantics_header(rows, brief):
        shown.add_column(name, overflow="fold")
    for row in shown_rows(rows, brief):
        cells = semantics_cells(row, brief)
        styled = [f"[{OUTCOME_STYLE[outcome.outcome]}]{escape(cell)}[/]"
                  for outcome, cell in zip(row.outcomes.values(), cells[leading:leading + len(row.outcomes)],
                                           strict=True)]
        shown.add_row(*(escape(cell) for cell in cells[:leading]), *styled, *cells[leading + len(row.outcomes):])
    return shown


def semantics_markdown(rows: list[Row], notes: list[str], brief: bool = False) -> str:
    """The table as Markdown, deterministic so that a fresh run can be compared with it."""
    body = [semantics_cells(row, brief) for row in shown_rows(rows, brief)]
    lines = markdown_table(semantics_header(rows, brief), body, numbers=False, escape=True)
    lines += ["", *(f"Not run here: {note}." for note in notes)] if notes else []
    return "\n".join(lines) + "\n"


def write_semantics(rows: list[Row], notes: list[str], json_path: str | None, markdown_path: str | None,
                    brief: bool = False) -> None:
    """Every row as JSON, whatever `brief`; the Markdown table, brief or whole."""
    if json_path:
        write_json(json_path, [row.to_json() for row in rows])
    if markdown_path:
        write_text(markdown_path, semantics_markdown(rows, notes, brief))
