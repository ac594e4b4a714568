"""The graded cells of an assignment's source notebooks, for the tests (the in-process runner is grading/inprocess.py)."""

import json

from grading.inprocess import ROOT


def graded_cells(assignment: str, key: str | None = None) -> list:
    """The grade_ids of the test cells; with `key`, (grade_id, the cell's relucourse metadata `key`) pairs."""
    found = []
    for path in sorted((ROOT / "exercises" / assignment).glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            meta = cell["metadata"].get("nbgrader", {})
            if cell["cell_type"] == "code" and meta.get("grade"):
                extra = cell["metadata"].get("relucourse", {}).get(key) if key else None
                found.append((meta["grade_id"], extra) if key else meta["grade_id"])
    return found
