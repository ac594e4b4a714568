"""The README's recipes, followed on a throw-away copy of the course: a new lesson, exercise and claim are picked up."""

import json
import os
import shutil
import subprocess
import sys

import pytest
from course import ROOT, copy_course

LESSON_HEADER_LINES = 13  # the jupytext front matter that every lesson starts with, up to its closing ---
NEW_CLAIM = """

@claim("s2-loss-at-teacher-zero", Q2, "At the teacher, w = 1, the loss is 0.",
       setting="the exact population loss", measured="L(1) = {loss:.1e}")
def loss_at_teacher_zero() -> Measured:
    loss = population_loss(1.0).item()
    return Measured(verdict(loss == 0.0, fails=loss > 0), {"loss": loss})
"""


TESTS = ("tests/test_lessons.py", "tests/test_nbgrader_pipeline.py", "tests/test_checkers.py", "tests/test_book.py")


def run(course, *args):
    env = {**os.environ, "PYTHONPATH": str(course)}  # the copy's relucourse, not the installed one
    return subprocess.run([sys.executable, *args], cwd=course, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A copy of the course in which each recipe was followed, as the README says."""
    course = copy_course(tmp_path_factory.mktemp("recipes"))
    toc = (course / "_toc.yml").read_text()
    # a lesson: lessons/<topic>.md with an existing lesson's header, listed in _toc.yml
    header = "".join((ROOT / "lessons/claims.md").read_text().splitlines(keepends=True)[:LESSON_HEADER_LINES])
    (course / "lessons/new_topic.md").write_text(header + "\n# A new topic\n\n```{code-cell} ipython3\n1 + 1\n```\n")
    toc = toc.replace(
        "      - file: lessons/claims\n", "      - file: lessons/claims\n      - file: lessons/new_topic\n"
    )
    # an exercise: exercises/<a>/<nb>.ipynb (here a copy of one), its wrong submission and mistakes, its student copy in _toc.yml
    for folder in ("exercises/new_one", "tests/fixtures/new_one"):
        (course / folder).mkdir()
    shutil.copy(ROOT / "exercises/dying_relu/dying_relu.ipynb", course / "exercises/new_one/new_one.ipynb")
    for fixture in ("wrong.json", "mistakes.yml"):
        shutil.copy(ROOT / "tests/fixtures/dying_relu" / fixture, course / "tests/fixtures/new_one" / fixture)
    toc = toc.replace(
        "      - file: release/optimizers/optimizers\n",
        "      - file: release/optimizers/optimizers\n      - file: release/new_one/new_one\n",
    )
    (course / "_toc.yml").write_text(toc)
    # a claim: one function under @claim in its thread's module, and one line of its id in IDS
    with (course / "relucourse/claims/thread002.py").open("a") as module:
        module.write(NEW_CLAIM)
    report = course / "relucourse/claims/__init__.py"
    report.write_text(
        report.read_text().replace('    "s2-jump-over",\n', '    "s2-jump-over",\n    "s2-loss-at-teacher-zero",\n')
    )
    return course


def test_a_new_lesson_and_exercise_are_tested(course):
    # --strict-markers (pyproject.toml): collecting the lesson's test needs its marker, which conftest.py registers
    collected = run(course, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *TESTS)
    assert collected.returncode == 0, collected.stdout[-3000:] + collected.stderr[-3000:]
    assert "tests/test_lessons.py::test_lesson_executes[new_topic]" in collected.stdout
    assert "tests/test_book.py::test_exercise_pages_show_the_student_copy_only[new_one]" in collected.stdout
    assert "test_nbgrader_pipeline.py::test_reference_solution_gets_full_marks[new_one]" in collected.stdout
    assert (
        "test_checkers.py::test_reference_passes_every_test_and_five_mistakes_are_written_down[new_one]"
        in collected.stdout
    )
    marked = run(course, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "-m", "new_topic", *TESTS)
    assert marked.stdout.splitlines()[-1].startswith("1/"), marked.stdout[-2000:]


def test_a_new_claim_is_reported(course):
    done = run(course, "-m", "relucourse.claims", "--json", "--id", "s2-loss-at-teacher-zero")
    assert done.returncode == 0, done.stderr
    (claim,) = json.loads(done.stdout)
    assert claim["verdict"] == "holds" and claim["measured"] == "L(1) = 0.0e+00", claim


def test_a_claim_without_its_id_line_is_refused(course, tmp_path):
    shutil.copytree(course / "relucourse", tmp_path / "relucourse")
    report = tmp_path / "relucourse/claims/__init__.py"
    report.write_text(report.read_text().replace('    "s2-loss-at-teacher-zero",\n', ""))
    done = run(tmp_path, "-c", "import relucourse.claims")
    assert done.returncode != 0 and "s2-loss-at-teacher-zero" in done.stderr
