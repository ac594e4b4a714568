"""grading.driver.convert: nbgrader's converters run one way; a failure is a ConversionFailed naming the step."""

import os
import shutil
import sys
from pathlib import Path

import pytest
from nbgrader.converters import GenerateAssignment

from grading.driver import ConversionFailed, Course, convert

ROOT = Path(__file__).resolve().parents[1]


def course_with(tmp_path: Path, assignment: str) -> Course:
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    if (ROOT / "exercises" / assignment).is_dir():
        shutil.copytree(ROOT / "exercises" / assignment, tmp_path / "exercises" / assignment)
    return Course.load(tmp_path, assignment)


def test_an_assignment_without_notebooks_is_a_conversion_failure_that_names_it(tmp_path):
    with pytest.raises(ConversionFailed, match="GenerateAssignment of missing failed: No notebooks were matched"):
        convert(course_with(tmp_path, "missing"), GenerateAssignment, db_url=f"sqlite:///{tmp_path / 'gradebook.db'}")


def test_generate_assignment_writes_the_student_copy_again(tmp_path, monkeypatch):
    monkeypatch.setenv(
        "PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    )  # nbgrader runs alembic
    course = course_with(tmp_path, "dying_relu")
    db = f"sqlite:///{tmp_path / 'gradebook.db'}"
    convert(course, GenerateAssignment, db_url=db)
    released = sorted(p.name for p in course.folder("release").glob("*.ipynb"))
    assert released == sorted(p.name for p in (ROOT / "exercises" / "dying_relu").glob("*.ipynb"))
    (course.folder("release") / released[0]).write_text("{}")
    convert(course, GenerateAssignment, db_url=db)  # forced: the release is overwritten, not an error
    assert (course.folder("release") / released[0]).read_text() != "{}"
