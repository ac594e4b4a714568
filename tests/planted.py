"""A class with planted mistakes, graded by `make grade` and reported by `make report`, for the report's tests."""

import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import nbformat

from grading.inprocess import PLANTED, ROOT, mistakes, solutions

BIN = Path(sys.executable).parent
ASSIGNMENT = "relu_at_zero"  # the fastest tests: a class grades in seconds
LATE = "s09"  # submitted two days after the due date
BROKEN = "s10"  # hands in a notebook cut in half: the pre-check rejects it, and it is no diagnosis
# student -> the mistakes (tests/fixtures/relu_at_zero/mistakes.yml) planted in their submission: the instructor
# page's sample class (grading/inprocess.py), and the broken notebook
PLAN = {**PLANTED, BROKEN: []}
DUE = datetime(2027, 1, 15, 17, 0, 0)
# A student answer that would run as script if the page did not escape it.
MARKUP = '<script>document.title = "owned"</script><img src=x onerror="document.title = \'owned\'">'


def _env() -> dict:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, *args], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, (
        f"`{' '.join(args)}` exited with {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )
    return done


def plant_class(course: Path) -> Path:
    """Submissions of ASSIGNMENT in `course` (a course directory) as PLAN says; then make grade and make report."""
    if not (course / "nbgrader_config.py").exists():
        shutil.copy(ROOT / "nbgrader_config.py", course)
        shutil.copytree(ROOT / "exercises" / ASSIGNMENT, course / "exercises" / ASSIGNMENT)
    subprocess.run(
        [str(BIN / "nbgrader"), "generate_assignment", ASSIGNMENT, "--force"],
        cwd=course,
        env=_env(),
        capture_output=True,
        check=True,
    )
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="relucourse") as gb:
        gb.update_or_create_assignment(ASSIGNMENT, duedate=DUE)
    by_name = {m["name"]: m for m in mistakes(ASSIGNMENT)}
    reference = solutions(ASSIGNMENT, written=True)  # the short answer too: it waits for a grader
    for student, planted in PLAN.items():
        cells = dict(reference)
        for name in planted:
            cells.update(by_name[name]["cells"])
        if student == "s07":  # the finite-difference learner also left markup in a comment of that answer
            cells["derivative_at_zero"] = f"# {MARKUP}\n" + cells["derivative_at_zero"]
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        for release in sorted((course / "release" / ASSIGNMENT).glob("*.ipynb")):
            nb = nbformat.read(release, as_version=4)
            for cell in nb.cells:
                grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
                if cell.metadata.get("nbgrader", {}).get("solution"):
                    cell.source = cells[grade_id]
            nbformat.write(nb, folder / release.name)
        if student == BROKEN:
            for path in folder.glob("*.ipynb"):
                path.write_text(path.read_text()[:200])
        submitted = DUE + (timedelta(days=2) if student == LATE else -timedelta(hours=3))
        (folder / "timestamp.txt").write_text(submitted.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))
    _run("-m", "grading", "grade", ASSIGNMENT, "--root", str(course), "--jobs", "2", "--no-progress", cwd=ROOT)
    _run("-m", "grading", "report", "--root", str(course), cwd=ROOT)
    return course / ".grading" / ASSIGNMENT


def assert_one_group_per_planted_mistake(rows: list[dict], plan: dict[str, list[str]]) -> None:
    """misconceptions.csv's rows: one per planted mistake and test it fails (mistakes.yml), with exactly its
    students, the most common first, and none for a student who planted nothing."""
    by_name = {m["name"]: m for m in mistakes(ASSIGNMENT)}
    expected = {}
    for name in {n for planted in plan.values() for n in planted}:
        students = sorted(s for s, planted in plan.items() if name in planted)
        for test, words in by_name[name]["fails"].items():
            expected[(test, words)] = students
    assert len(rows) == len(expected), (
        f"expected {len(expected)} diagnoses, got {[(r['test'], r['message']) for r in rows]}"
    )
    for (test, words), students in expected.items():
        found = [r for r in rows if r["test"] == test and words in r["message"]]
        assert len(found) == 1, f"{test}: {len(found)} rows name {words!r}: {rows}"
        assert found[0]["student_ids"].split(";") == students and int(found[0]["students"]) == len(students)
    right = {s for s, planted in plan.items() if not planted}
    named = {s for r in rows for s in r["student_ids"].split(";")}
    assert right and not right & named, "a student who passed is in a row"
    counts = [int(r["students"]) for r in rows]
    assert counts == sorted(counts, reverse=True), "the most common diagnosis comes first"
