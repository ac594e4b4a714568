"""The file-level pre-check: one student's submitted folder, repaired or rejected, before nbgrader reads it.

For each notebook of the assignment: an empty file, a link, a file that is not UTF-8, not JSON or not a
notebook is *rejected*: it is replaced by the released notebook (so it is graded like the untouched
release) and the reason goes into its grading notes. A notebook that parses but breaks nbformat's
schema is repaired where that is mechanical (outputs dropped, missing fields filled, duplicate cell ids
renewed) and rejected otherwise. Cell-level repairs (metadata, missing cells) are
:mod:`grading.repair`'s, inside nbgrader.

Other files: code that Python could import (``numpy.py`` beside the notebook would replace numpy),
links, special files, oversized files and notebooks that are not part of the assignment are left out;
a ``timestamp.txt`` nbgrader cannot parse is left out. Data files are kept.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.utils import parse_utc

from grading.notes import add_notes, drop_notes

__all__ = ["Precheck", "precheck_submission", "CODE_SUFFIXES"]

CODE_SUFFIXES = (".py", ".pyc", ".pyo", ".pyw", ".pyd", ".so", ".pth", ".egg-link", ".zip", ".whl", ".egg")
MAX_NOTEBOOK_BYTES = 64 * 2**20
MAX_FILE_BYTES = 16 * 2**20


@dataclass
class Precheck:
    """What the pre-check did to one student's submission."""

    notes: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # notebooks replaced by the release


def precheck_submission(submitted: Path, release: Path, dest: Path) -> Precheck:
    """Copy `submitted` (``submitted/<student>/<assignment>``) to `dest`, repaired; the released notebooks are in `release`."""
    result = Precheck()
    dest.mkdir(parents=True, exist_ok=True)
    notebooks = sorted(p.name for p in release.glob("*.ipynb"))
    for entry in sorted(submitted.iterdir()) if submitted.is_dir() else []:
        if entry.name in notebooks:
            continue
        reason = _why_left_out(entry)
        if reason:
            result.notes.append(f"{entry.name} was left out: {reason}.")
        elif entry.is_dir():
            shutil.copytree(entry, dest / entry.name, symlinks=True, ignore=_ignore_unsafe)
        else:
            shutil.copy2(entry, dest / entry.name)
    for name in notebooks:
        path = submitted / name
        if not os.path.lexists(path):
            result.notes.append(f"{name} was not submitted.")
            continue
        nb, problem = _read_notebook(path)
        notes = list(result.notes)
        if nb is None:
            result.rejected.append(name)
            nb = nbformat.read(release / name, as_version=4)
            notes.append(f"{name} could not be read ({problem}); it was graded as the unchanged assignment.")
            result.notes.append(notes[-1])
        add_notes(nb, notes)
        nbformat.write(nb, dest / name)
    return result


def _read_notebook(path: Path) -> tuple[nbformat.NotebookNode | None, str]:
    """The notebook, repaired, with the learner's grading-notes look-alikes dropped; or None and why not."""
    if os.path.islink(path) or not path.is_file():
        return None, "it is a link or not a regular file"
    size = path.stat().st_size
    if size == 0:
        return None, "the file is empty"
    if size > MAX_NOTEBOOK_BYTES:
        return None, f"the file is {size // 2**20} MB, more than the {MAX_NOTEBOOK_BYTES // 2**20} MB accepted"
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        return None, "the file is not UTF-8 text"
    except ValueError as error:
        return None, f"the file is not valid JSON: {error}"
    except RecursionError:
        return None, "the file nests JSON too deeply to be a notebook"
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        return None, "the file is JSON but not a notebook (no list of cells)"
    data = _repair_structure(data)
    try:
        nb = nbformat.reads(json.dumps(data), as_version=4)
        nbformat.validate(nb)
    except Exception as error:  # nbformat raises several kinds; each means "not a notebook we can grade"
        return None, f"the file is not a valid notebook: {str(error).splitlines()[0][:200]}"
    drop_notes(nb)
    return nb, ""


def _repair_structure(data: dict) -> dict:
    """Mechanical fixes: cells of a known type with the fields nbformat 4 requires, outputs dropped, unique ids."""
    cells, ids = [], set()
    for raw in data["cells"]:
        if not isinstance(raw, dict) or raw.get("cell_type") not in ("code", "markdown", "raw"):
            continue
        source = raw.get("source", "")
        cell = {
            "cell_type": raw["cell_type"],
            "metadata": raw.get("metadata") if isinstance(raw.get("metadata"), dict) else {},
            "source": "".join(source) if isinstance(source, list) else str(source),
        }
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
        cell_id = raw.get("id")
        if not isinstance(cell_id, str) or cell_id in ids or not cell_id:
            cell_id = nbformat.v4.new_code_cell().id
        ids.add(cell_id)
        cell["id"] = cell_id
        cells.append(cell)
    metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    return {"cells": cells, "metadata": metadata, "nbformat": 4, "nbformat_minor": 5}


def _why_left_out(entry: Path) -> str:
    if entry.is_symlink():
        return "links are not accepted (it could point at any file of the grading machine)"
    if not (entry.is_file() or entry.is_dir()):
        return "not a regular file"
    if entry.name == "timestamp.txt":
        try:
            parse_utc(entry.read_text(encoding="utf-8", errors="replace").strip())
        except Exception:
            return "nbgrader cannot read the time in it"
        return ""
    if entry.name.endswith(".ipynb"):
        return "the assignment has no notebook of that name"
    if entry.name.endswith(CODE_SUFFIXES) or (entry.is_dir() and _is_package(entry)):
        return "Python code beside the notebook could replace the modules the tests import"
    if entry.name.startswith("."):
        return "hidden files are not graded"
    if entry.is_file() and entry.stat().st_size > MAX_FILE_BYTES:
        return f"larger than {MAX_FILE_BYTES // 2**20} MB"
    return ""


def _is_package(directory: Path) -> bool:
    return any(p.name.startswith("__init__.") or p.name.endswith(CODE_SUFFIXES) for p in directory.rglob("*"))


def _ignore_unsafe(directory: str, names: list[str]) -> list[str]:
    """Within a kept data folder, skip links and special files."""
    return [
        n
        for n in names
        if not stat.S_ISREG(os.lstat(os.path.join(directory, n)).st_mode)
        and not stat.S_ISDIR(os.lstat(os.path.join(directory, n)).st_mode)
    ]
