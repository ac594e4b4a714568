"""How an executed test cell is scored: an error fails it; output on stderr does not.

nbgrader's ``determine_grade`` gives 0 to a test cell that printed anything to stderr, so a correct
answer that emits a warning, a tqdm bar or a PyTorch notice loses its marks. Here only an error output
fails a test (the grader adds one for a cell that crashed, timed out or was not run, see
:mod:`grading.execute`). Errors are looked for first, anywhere in the cell: learner code cannot buy
partial credit by publishing an ``execute_result`` before the test fails. Partial credit from a test
cell's own result works as in nbgrader.
"""

from __future__ import annotations

from nbformat import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import SaveAutoGrades
from nbgrader.utils import get_partial_grade, is_grade, is_solution

__all__ = ["determine_grade", "SaveGrades"]


def determine_grade(cell: NotebookNode, log=None) -> tuple[float | None, float]:
    """``(score, max_score)`` of a graded cell, as nbgrader's ``determine_grade`` but stderr is not failure."""
    if not is_grade(cell):
        raise ValueError(f"Invalid cell: {cell.get('id', '?')} is not a graded cell")
    if is_solution(cell) or cell.cell_type != "code":
        return utils.determine_grade(cell, log)  # manually graded answers: unchanged
    max_points = float(cell.metadata["nbgrader"]["points"])
    outputs = cell.get("outputs", [])
    if any(output.output_type == "error" for output in outputs):
        return 0, max_points
    for output in outputs:
        if output.output_type == "execute_result":
            try:
                return get_partial_grade(output, max_points, log), max_points
            except (ValueError, KeyError):  # more than the cell is worth, or no text: the test passed
                return max_points, max_points
    return max_points, max_points


class SaveGrades(SaveAutoGrades):
    """nbgrader's ``SaveAutoGrades`` with :func:`determine_grade`."""

    def _add_score(self, cell: NotebookNode, resources) -> None:
        grade = self.gradebook.find_grade(
            cell.metadata["nbgrader"]["grade_id"], self.notebook_id, self.assignment_id, self.student_id
        )
        grade.auto_score, _ = determine_grade(cell, self.log)
        grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None
        self.gradebook.db.commit()
