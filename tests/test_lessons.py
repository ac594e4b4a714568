"""Every lesson in the table of contents runs top to bottom in a fresh kernel, without an error."""

import re

import jupytext
import pytest
from course import lessons
from nbclient import NotebookClient


@pytest.mark.parametrize("lesson", [pytest.param(p, id=p.stem, marks=getattr(pytest.mark, p.stem)) for p in lessons()])
def test_lesson_executes(lesson):
    notebook = jupytext.read(lesson)
    NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(lesson.parent)}}
    ).execute()
    errors = [o for cell in notebook.cells for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, f"{lesson.name}: {errors[0]['ename']}: {errors[0]['evalue']}"
    assert any(
        o.get("output_type") == "display_data" and "image/png" in o.get("data", {})
        for cell in notebook.cells
        for o in cell.get("outputs", [])
    ), f"{lesson.name} draws no figure"


PREDICT = re.compile(
    r'\*\*Predict, then run\.\*\* (.+?)\n\n<details class="predict"><summary>Answer</summary>\n\n(.+?)\n\n</details>',
    re.DOTALL,
)


@pytest.mark.parametrize("lesson", [pytest.param(p, id=p.stem) for p in lessons()])
def test_every_lesson_asks_two_to_four_predict_then_run_questions(lesson):
    """Each question is followed by its answer in a <details> block: folded in JupyterLab and in the book alike."""
    text = lesson.read_text(encoding="utf-8")
    questions = PREDICT.findall(text)
    assert 2 <= len(questions) <= 4, f"{lesson.name}: {len(questions)} predict-then-run questions, expected 2 to 4"
    assert text.count("<details") == text.count("</details>") == len(questions), (
        f"{lesson.name}: a malformed <details> block"
    )
    for question, answer in questions:
        assert "<details" not in question and answer.strip(), (
            f"{lesson.name}: a question without its answer: {question[:60]}"
        )
