"""A submission's nbgrader metadata made the instructor's again, and its lost graded cells put back.

Runs first among nbgrader's sanitizing preprocessors (``nbgrader_config.py``), so both ``make grade``
and a plain ``nbgrader autograde`` get it. The gradebook is the truth: for every cell whose
``grade_id`` it knows, the cell's nbgrader metadata is rewritten from it, which undoes points claimed
in metadata, a test cell turned into a solution, a tampered ``schema_version``. A second copy of a
``grade_id`` (a copied cell; the last copy counts, as in nbgrader) and a cell naming an unknown
``grade_id`` lose their nbgrader metadata and stay as ordinary cells. Graded, locked and solution cells
missing from the submission are put back where the source notebook has them (locked ones as the
instructor wrote them, solution cells as released). nbgrader's ``OverwriteCells`` then restores the
locked cells' code, hidden tests included. Each repair is written, in words, into the notebook's
grading notes (:mod:`grading.notes`).
"""

from __future__ import annotations

import copy
import os

import nbformat
from nbformat import NotebookNode
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor

from grading.notes import add_notes

__all__ = ["RepairCells", "instructor_metadata"]

_CHECKED = ("grade", "solution", "locked", "task", "points", "schema_version")


def instructor_metadata(gb: Gradebook, notebook_id: str, assignment_id: str) -> dict[str, dict]:
    """grade_id -> the nbgrader metadata the instructor's cell has, plus its type and released source."""
    notebook = gb.find_notebook(notebook_id, assignment_id)
    grades = {c.name: c.max_score for c in notebook.grade_cells}
    tasks = {c.name: c.max_score for c in notebook.task_cells}
    solutions = {c.name for c in notebook.solution_cells}
    truth = {}
    for cell in notebook.source_cells:
        meta = {
            "grade": cell.name in grades,
            "grade_id": cell.name,
            "locked": bool(cell.locked),
            "schema_version": 3,
            "solution": cell.name in solutions,
            "task": cell.name in tasks,
        }
        if cell.name in grades or cell.name in tasks:
            meta["points"] = grades.get(cell.name, tasks.get(cell.name))
        truth[cell.name] = {"nbgrader": meta, "cell_type": cell.cell_type, "source": cell.source}
    return truth


class RepairCells(NbGraderPreprocessor):
    """See the module's docstring."""

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        info = resources["nbgrader"]
        try:
            with Gradebook(info["db_url"]) as gb:
                truth = instructor_metadata(gb, info["notebook"], info["assignment"])
        except MissingEntry:
            return nb, resources  # nbgrader itself reports an unknown notebook
        notes = self._repair_metadata(nb, truth)
        notes += self._restore_missing(nb, truth, self._source_order(info["assignment"], info["notebook"], truth))
        for note in notes:
            self.log.warning("%s: %s", info["notebook"], note)
        if notes:
            add_notes(nb, notes)
        return nb, resources

    def _repair_metadata(self, nb: NotebookNode, truth: dict) -> list[str]:
        changed: dict[tuple, list[str]] = {}
        retyped, duplicates, unknown, kept = [], [], [], set()
        for cell in reversed(nb.cells):  # the last copy of a grade_id is the one that counts
            if "nbgrader" not in cell.metadata:
                continue
            meta = cell.metadata["nbgrader"]
            grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
            if grade_id in truth and grade_id not in kept:
                kept.add(grade_id)
                wanted = truth[grade_id]
                fields = tuple(_differences(meta, wanted["nbgrader"]))
                if fields:
                    changed.setdefault(fields, []).insert(0, grade_id)
                cell.metadata["nbgrader"] = copy.deepcopy(wanted["nbgrader"])
                if cell.cell_type != wanted["cell_type"]:
                    retyped.insert(0, f"{grade_id} (a {cell.cell_type} cell again a {wanted['cell_type']} cell)")
                    _set_type(cell, wanted["cell_type"])
            else:
                del cell.metadata["nbgrader"]
                (duplicates if grade_id in truth else unknown).insert(
                    0, grade_id if grade_id in truth else _describe(meta)
                )
        notes = [
            f"nbgrader settings ({', '.join(fields)}) had been changed in {_cells(ids)}; they were set back to "
            "the assignment's."
            for fields, ids in changed.items()
        ]
        if retyped:
            notes.append(f"cell type changed back: {', '.join(retyped)}.")
        if duplicates:
            notes.append(
                f"a second copy of {_cells(duplicates)} was found; the last copy counts, the others run as "
                "ordinary cells."
            )
        notes += [
            f"a cell claiming nbgrader settings that are not the assignment's ({u}) runs as an ordinary cell."
            for u in unknown
        ]
        return notes

    def _restore_missing(self, nb: NotebookNode, truth: dict, order: list[str]) -> list[str]:
        present = {c.metadata["nbgrader"]["grade_id"]: i for i, c in enumerate(nb.cells) if "nbgrader" in c.metadata}
        missing = []
        for position, grade_id in enumerate(order):
            if grade_id in present:
                continue
            wanted = truth[grade_id]
            make = nbformat.v4.new_code_cell if wanted["cell_type"] == "code" else nbformat.v4.new_markdown_cell
            cell = make(wanted["source"], metadata={"nbgrader": copy.deepcopy(wanted["nbgrader"])})
            before = [present[g] for g in order[:position] if g in present]
            at = max(before) + 1 if before else 0
            nb.cells.insert(at, cell)
            present = {g: (i + 1 if i >= at else i) for g, i in present.items()}
            present[grade_id] = at
            missing.append(grade_id)
        return (
            [f"{_cells(missing)} {'was' if len(missing) == 1 else 'were'} missing from the submission and put back."]
            if missing
            else []
        )

    def _source_order(self, assignment_id: str, notebook_id: str, truth: dict) -> list[str]:
        """The grade_ids in the order of the instructor's source notebook (the gradebook keeps no order)."""
        coursedir = CourseDirectory(config=self.config)
        path = os.path.join(
            coursedir.format_path(coursedir.source_directory, ".", assignment_id), f"{notebook_id}.ipynb"
        )
        try:
            source = nbformat.read(path, as_version=4)
            order = [c.metadata["nbgrader"].get("grade_id") for c in source.cells if "nbgrader" in c.metadata]
        except (OSError, ValueError, KeyError):
            order = []
        return [g for g in order if g in truth] + sorted(set(truth) - set(order))


def _cells(ids: list[str], shown: int = 6) -> str:
    """'cell a' / 'cells a, b, c and 4 more'."""
    names = ", ".join(ids[:shown]) + (f" and {len(ids) - shown} more" if len(ids) > shown else "")
    return f"cell{'s' if len(ids) > 1 else ''} {names}"


def _differences(meta: object, wanted: dict) -> list[str]:
    if not isinstance(meta, dict):
        return ["all of them"]
    default = {"grade": False, "solution": False, "locked": False, "task": False}
    return [k for k in _CHECKED if meta.get(k, default.get(k)) != wanted.get(k, default.get(k))]


def _set_type(cell: NotebookNode, cell_type: str) -> None:
    cell.cell_type = cell_type
    if cell_type == "code":
        cell.outputs, cell.execution_count = [], None
    else:
        cell.pop("outputs", None)
        cell.pop("execution_count", None)


def _describe(meta: object) -> str:
    if not isinstance(meta, dict):
        return "not a mapping"
    return ", ".join(f"{k}={meta[k]!r}" for k in ("grade_id", "points", "grade", "solution") if k in meta)[:200]
