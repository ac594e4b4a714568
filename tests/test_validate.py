"""The learner's Validate passes a correct notebook that writes to stderr, with the course's configuration, and still fails a wrong one."""

import nbformat
import pytest
from course import ROOT
from nbgrader.server_extensions.validate_assignment.handlers import ValidateAssignmentHandler
from nbgrader.validator import Validator

pytestmark = pytest.mark.nbgrader

ANSWER = "def double(x):\n    import sys, warnings\n    warnings.warn('a warning')\n    print('10%|#', file=sys.stderr)\n    return {}\n"


def notebook(path, answer: str) -> str:
    """An assignment of one solution cell and one graded test cell; the answer writes to stderr."""
    solution = nbformat.v4.new_code_cell(answer)
    solution.metadata.nbgrader = {
        "grade": False,
        "solution": True,
        "locked": False,
        "grade_id": "answer",
        "schema_version": 3,
    }
    test = nbformat.v4.new_code_cell("assert double(2) == 4, 'double(2) should be 4'")
    test.metadata.nbgrader = {
        "grade": True,
        "solution": False,
        "locked": True,
        "grade_id": "test",
        "points": 1,
        "schema_version": 3,
    }
    nbformat.write(nbformat.v4.new_notebook(cells=[solution, test]), path)
    return str(path)


@pytest.mark.parametrize("server", ["hub-user", "make-lab"])
def test_validate_passes_a_correct_answer_that_writes_to_stderr(tmp_path, monkeypatch, server):
    """The configuration as the Validate button loads it: the server's directory, then JUPYTER_CONFIG_PATH."""
    if server == "hub-user":  # a learner's server on the hub: its own home, the hub's user-config
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(ROOT / "classroom/user-config"))
    else:  # `make lab`: the server starts in the course's directory
        monkeypatch.chdir(ROOT)
        monkeypatch.delenv("JUPYTER_CONFIG_PATH", raising=False)
    config = ValidateAssignmentHandler.load_config(None)
    correct, wrong = (
        notebook(tmp_path / "correct.ipynb", ANSWER.format("2 * x")),
        notebook(tmp_path / "wrong.ipynb", ANSWER.format("x + 1")),
    )
    assert "failed" in Validator().validate(correct), "stock nbgrader should fail the cell that wrote to stderr"
    assert "failed" not in Validator(config=config).validate(correct), "the course's Validate fails a correct answer"
    assert "failed" in Validator(config=config).validate(wrong), "the course's Validate passes a wrong answer"
