"""grading.feedback: hidden tests leave the feedback, from the code, the tracebacks and any output that quotes them."""

import nbformat
import pytest
from traitlets.config import Config

from grading.feedback import REDACTED, HideHiddenTests

pytestmark = pytest.mark.grading

HIDDEN = "check_close('f(7.25)', f(7.25), 14.5, 'the secret case')"
TEST = f"""check_close('f(1)', f(1), 2, 'doubles')
### BEGIN HIDDEN TESTS
{HIDDEN}
### END HIDDEN TESTS"""


def graded(source, *outputs, grade=True):
    cell = nbformat.v4.new_code_cell(
        source,
        metadata={
            "nbgrader": {
                "grade": grade,
                "solution": not grade,
                "locked": grade,
                "grade_id": f"c{len(source)}",
                "points": 1,
                "schema_version": 3,
            }
        },
    )
    cell.outputs = list(outputs)
    return cell


def test_hidden_code_leaves_code_tracebacks_and_outputs_messages_stay():
    error = nbformat.v4.new_output(
        "error",
        ename="AssertionError",
        evalue="f(7.25) = 0, expected 14.5: the secret case",
        traceback=["Cell In[3], line 4", HIDDEN, "AssertionError: ..."],
    )
    leak = nbformat.v4.new_output("stream", name="stdout", text=f"look:\n{HIDDEN}\nbye\n")
    nb = nbformat.v4.new_notebook(
        cells=[graded("def f(x):\n    print(open('x.ipynb').read())", leak, grade=False), graded(TEST, error)]
    )
    nb, _ = HideHiddenTests(config=Config()).preprocess(nb, {})
    solution, test = nb.cells
    assert HIDDEN not in test.source and "check_close('f(1)'" in test.source
    assert test.outputs[0].traceback == ["AssertionError: f(7.25) = 0, expected 14.5: the secret case"]
    assert solution.outputs[0].text == f"look:\n{REDACTED}\nbye\n"


def test_a_coloured_traceback_quoting_hidden_code_is_redacted():
    """IPython colours tracebacks: the escapes split the quoted line, which must still be recognised."""
    coloured = f"\x1b[0;32m{HIDDEN[:11]}\x1b[39m{HIDDEN[11:]}"
    error = nbformat.v4.new_output(
        "error",
        ename="TypeError",
        evalue="bad argument",
        traceback=["Cell In[5], line 2", coloured, "TypeError: bad argument"],
    )
    nb = nbformat.v4.new_notebook(cells=[graded("_secret_helper(None)", error, grade=False), graded(TEST)])
    nb, _ = HideHiddenTests(config=Config()).preprocess(nb, {})
    assert nb.cells[0].outputs[0].traceback == ["Cell In[5], line 2", REDACTED, "TypeError: bad argument"]
