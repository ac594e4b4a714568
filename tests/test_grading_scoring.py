"""grading.scoring: an error fails a test cell, stderr does not, and learner code cannot buy partial credit."""

import nbformat
import pytest

from grading.scoring import determine_grade

pytestmark = pytest.mark.grading


def graded_cell(*outputs, points=2):
    cell = nbformat.v4.new_code_cell(
        "check()",
        metadata={
            "nbgrader": {
                "grade": True,
                "solution": False,
                "locked": True,
                "grade_id": "t",
                "points": points,
                "schema_version": 3,
            }
        },
    )
    cell.outputs = list(outputs)
    return cell


STDERR = nbformat.v4.new_output("stream", name="stderr", text="UserWarning: harmless\n")
STDOUT = nbformat.v4.new_output("stream", name="stdout", text="ok\n")
ERROR = nbformat.v4.new_output("error", ename="AssertionError", evalue="f(1) = 2, expected 3", traceback=[])


def result(value):
    return nbformat.v4.new_output("execute_result", data={"text/plain": value}, execution_count=1)


@pytest.mark.parametrize(
    "outputs, score",
    [
        ((), 2),
        ((STDOUT,), 2),
        ((STDERR,), 2),
        ((STDERR, STDOUT, STDERR), 2),  # stderr is not failure
        ((ERROR,), 0),
        ((STDERR, ERROR), 0),
        ((result("1"), ERROR), 0),  # an execute_result published before the failure buys nothing
        ((result("0.5"),), 0.5),  # a test's own partial credit, as in nbgrader
        ((result("999"),), 2),  # more than the cell is worth: the test passed
    ],
)
def test_score(outputs, score):
    assert determine_grade(graded_cell(*outputs)) == (score, 2.0)


def test_only_graded_cells_are_scored():
    with pytest.raises(ValueError, match="not a graded cell"):
        determine_grade(nbformat.v4.new_code_cell("x = 1"))
