"""grading.driver: a run killed half-way finishes the rest when started again, with a serial nbgrader run's grades.

Four generated submissions (reference, release, wrong, reference) in a temporary course. The parallel
driver is killed (SIGKILL, workers and kernels with it) as soon as one student is recorded, then run
again; a copy of the course is graded serially by plain `nbgrader autograde` with the same configuration.
"""

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from grading.bench import generate_course
from grading.journal import Journal

# one worker: the module's graded class is made once
pytestmark = [pytest.mark.grading, pytest.mark.xdist_group("driver")]

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ASSIGNMENT = "dying_relu"
STUDENTS = 4
WRONG = json.loads((ROOT / "tests" / "fixtures" / ASSIGNMENT / "wrong.json").read_text())["cells"]


@dataclass
class Runs:
    parallel: Path
    serial: Path
    done_before_kill: list  # students the journal had when the first run was killed
    journal_lines: list  # every line of the journal after both runs
    second: subprocess.CompletedProcess
    report: dict


def _grade(course: Path) -> list[str]:
    return [sys.executable, "-m", "grading", "grade", ASSIGNMENT, "--root", str(course), "--jobs", "2", "--no-progress"]


def _grades(course: Path) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="relucourse") as gb:
        return {
            (s.student.id, g.name): g.auto_score
            for s in gb.assignment_submissions(ASSIGNMENT)
            for nb in s.notebooks
            for g in nb.grades
        }


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Runs:
    base = tmp_path_factory.mktemp("course")
    generate_course(base, ASSIGNMENT, STUDENTS, WRONG)
    parallel, serial = base.parent / "parallel", base.parent / "serial"
    shutil.copytree(base, parallel)
    shutil.copytree(base, serial)
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}

    journal = Journal(parallel / ".grading" / ASSIGNMENT / "journal.jsonl")
    first = subprocess.Popen(
        _grade(parallel),
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 600
    while not journal.entries() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    if first.poll() is None:  # (a driver that already ended, e.g. failed, is judged by the tests below)
        os.killpg(first.pid, signal.SIGKILL)  # the driver, its workers, and (dying with them) their sandboxes
    first.wait()
    done_before_kill = sorted(journal.entries())

    second = subprocess.run(_grade(parallel), cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    for step in (["generate_assignment", ASSIGNMENT, "--force"], ["autograde", ASSIGNMENT]):
        subprocess.run(
            [str(BIN / "nbgrader"), *step], cwd=serial, env=env, check=True, capture_output=True, timeout=900
        )
    with open(parallel / ".grading" / ASSIGNMENT / "report.csv", newline="") as handle:
        report = {row["student"]: row for row in csv.DictReader(handle)}
    lines = journal.path.read_text().splitlines()
    return Runs(parallel, serial, done_before_kill, lines, second, report)


def test_the_first_run_was_killed_half_way(runs):
    assert 1 <= len(runs.done_before_kill) < STUDENTS, (
        f"the kill should come after some but not all students; the journal had {runs.done_before_kill}"
    )


def test_the_second_run_grades_only_the_rest(runs):
    assert runs.second.returncode == 0, runs.second.stderr[-3000:]
    skipped = sorted(s for s, row in runs.report.items() if row["status"] == "skipped")
    assert skipped == runs.done_before_kill, "students graded before the kill should not be graded again"
    assert len(runs.report) == STUDENTS
    assert len(runs.journal_lines) == STUDENTS, f"each student should be recorded once: {runs.journal_lines}"


def test_grades_equal_a_serial_nbgrader_run(runs):
    parallel, serial = _grades(runs.parallel), _grades(runs.serial)
    cells = json.loads((ROOT / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())["cells"]
    graded = sum(1 for c in cells if c["metadata"].get("nbgrader", {}).get("grade"))  # tests and the short answer
    assert len(serial) == STUDENTS * graded, "the serial run did not grade every graded cell of every student"
    assert parallel == serial, {k: (parallel.get(k), serial.get(k)) for k in serial if parallel.get(k) != serial.get(k)}


def test_feedback_and_export_cover_every_student(runs):
    students = sorted(p.name for p in (runs.parallel / "submitted").iterdir())
    assert sorted(p.name for p in (runs.parallel / "feedback").iterdir()) == students
    with open(runs.parallel / "grades.csv", newline="") as handle:
        assert sorted(row["student_id"] for row in csv.DictReader(handle)) == students


def test_a_lost_gradebook_is_graded_again_not_skipped(runs, tmp_path):
    """The journal counts a student as done only if the gradebook has them: a deleted gradebook.db is rebuilt."""
    course = tmp_path / "course"
    shutil.copytree(runs.parallel, course)
    (course / "gradebook.db").unlink()
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    again = subprocess.run(_grade(course), cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stderr[-3000:]
    assert _grades(course) == _grades(runs.parallel), "grading again after losing the gradebook gave other grades"
