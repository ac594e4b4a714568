"""The grading notes: a markdown cell at the top of a graded notebook saying what the grader repaired or rejected.

The learner reads it in the feedback, the instructor in the formgrader and in ``make grade``'s report.
"""

from __future__ import annotations

import nbformat
from nbformat import NotebookNode

__all__ = ["add_notes", "read_notes", "drop_notes", "TITLE"]

TITLE = "**Grading notes.** Before grading, the course's grader changed this submission:"
_KEY = "relucourse_grading_notes"


def add_notes(nb: NotebookNode, notes: list[str]) -> None:
    """Append `notes` to the notebook's grading-notes cell, creating it first in the notebook."""
    if not notes:
        return
    cell = next((c for c in nb.cells if c.metadata.get(_KEY)), None)
    if cell is None:
        cell = nbformat.v4.new_markdown_cell(TITLE, metadata={_KEY: []})
        nb.cells.insert(0, cell)
    cell.metadata[_KEY] = list(cell.metadata[_KEY]) + list(notes)
    cell.source = "\n".join([TITLE, ""] + [f"- {note}" for note in cell.metadata[_KEY]])


def read_notes(nb: NotebookNode) -> list[str]:
    """The notes in the notebook's first cell, if it is a grading-notes cell."""
    first = nb.cells[0] if nb.cells else None
    if first is None or first.cell_type != "markdown" or not first.source.startswith(TITLE):
        return []
    return [line[2:] for line in first.source.split("\n") if line.startswith("- ")]


def drop_notes(nb: NotebookNode) -> None:
    """Remove grading-notes cells a submission brought with it: only the grader writes them."""
    nb.cells = [
        c
        for c in nb.cells
        if not (c.metadata.get(_KEY) is not None or (c.cell_type == "markdown" and c.source.startswith(TITLE)))
    ]
