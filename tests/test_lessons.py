"""Every lesson in the table of contents runs top to bottom in a fresh kernel, without an error."""

import jupytext
import pytest
from nbclient import NotebookClient

from course import lessons


@pytest.mark.parametrize("lesson", [pytest.param(p, id=p.stem, marks=getattr(pytest.mark, p.stem)) for p in lessons()])
def test_lesson_executes(lesson):
    notebook = jupytext.read(lesson)
    NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(lesson.parent)}}).execute()
    errors = [o for cell in notebook.cells for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, f"{lesson.name}: {errors[0]['ename']}: {errors[0]['evalue']}"
    assert any(o.get("output_type") == "display_data" and "image/png" in o.get("data", {})
               for cell in notebook.cells for o in cell.get("outputs", [])), f"{lesson.name} draws no figure"
