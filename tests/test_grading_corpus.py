"""`make grade` against the adversarial corpus (tests/grading_corpus): every kind gets its outcome, nobody else moves.

One run of the parallel driver (`python -m grading grade`, two workers) over ~40 generated submissions of
dying_relu in a temporary course, with short time limits so that the hanging kinds cost seconds. A
bystander with grades set by hand (not resubmitted) must keep them; a TCP listener on the host must
hear nothing; nothing may be written outside the sandbox.
"""

import csv
import json
import shutil
import socket
import subprocess
import sys
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from course import released_course, venv_env
from grading_corpus import GRADED_MARKER, KINDS, MANUAL, MAX_SCORE, Context, reference_solutions, write_submission

# one worker: the module's graded class is made once
pytestmark = [pytest.mark.grading, pytest.mark.xdist_group("corpus")]

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "dying_relu"
BYSTANDER = "bystander"
# Short limits: the hanging kinds then cost seconds, not minutes.
LIMITS = """
c.Execute.timeout = 5
c.GuardedExecute.submission_timeout = 150
c.GradingKernelManager.memory_limit = 2 * 2**30
c.GradingKernelManager.wall_limit = 300
"""


@dataclass
class CorpusRun:
    course: Path
    driver: subprocess.CompletedProcess
    scores: dict  # student -> (score, max_score)
    ungraded: dict  # student -> grade_ids of test cells with no auto_score
    manual: dict  # student -> {grade_id of a short answer: (auto_score, needs_manual_grade)}
    report: dict  # student -> row of .grading/dying_relu/report.csv
    bystander_before: list
    bystander_after: list
    connections: list


class Listener:
    """A TCP server on the host's loopback that records what connects to it."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.5)
        self.port, self.heard, self.stop = self.server.getsockname()[1], [], threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop.is_set():
            try:
                connection, address = self.server.accept()
            except OSError:
                continue
            self.heard.append(address)
            connection.close()

    def close(self):
        self.stop.set()
        self.thread.join()
        self.server.close()


def _bystander_rows(db: Path) -> list:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{db}", course_id="relucourse") as gb:
        submission = gb.find_submission(ASSIGNMENT, BYSTANDER)
        return sorted(
            (g.name, g.auto_score, g.manual_score, g.max_score) for nb in submission.notebooks for g in nb.grades
        )


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> CorpusRun:
    if shutil.which("bwrap") is None:
        pytest.fail("bubblewrap is missing: `make test` installs it (apt-get install -y bubblewrap)")
    course = released_course(tmp_path_factory.mktemp("corpus"), ASSIGNMENT, LIMITS)

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="relucourse") as gb, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nbgrader's own SQLAlchemy autoflush warnings
        gb.add_student(BYSTANDER)
        submission = gb.add_submission(ASSIGNMENT, BYSTANDER)
        for nb in submission.notebooks:
            for number, grade in enumerate(nb.grades):
                grade.auto_score, grade.manual_score = grade.max_score, (0.5 if number == 0 else None)
        gb.db.commit()
    before = _bystander_rows(course / "gradebook.db")

    listener = Listener()
    source = nbformat.read(course / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    release = nbformat.read(course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    ctx = Context(release, reference_solutions(source), course, listener.port)
    for kind in KINDS:
        write_submission(course / "submitted" / kind.name / ASSIGNMENT, kind.make(ctx))
    try:
        driver = subprocess.run(
            [
                sys.executable,
                "-m",
                "grading",
                "grade",
                ASSIGNMENT,
                "--root",
                str(course),
                "--jobs",
                "2",
                "--no-progress",
            ],
            cwd=ROOT,
            env=venv_env(),
            capture_output=True,
            text=True,
            timeout=1200,
        )
    finally:
        listener.close()

    scores, ungraded, manual = {}, {}, {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="relucourse") as gb:
        for kind in KINDS:
            try:
                submission = gb.find_submission(ASSIGNMENT, kind.name)
            except Exception:
                continue
            scores[kind.name] = (submission.score, submission.max_score)
            grades = [g for nb in submission.notebooks for g in nb.grades]
            ungraded[kind.name] = [g.name for g in grades if g.auto_score is None and g.name not in MANUAL]
            manual[kind.name] = {g.name: (g.auto_score, g.needs_manual_grade) for g in grades if g.name in MANUAL}
    report_path = course / ".grading" / ASSIGNMENT / "report.csv"
    with open(report_path, newline="") as handle:
        report = {row["student"]: row for row in csv.DictReader(handle)} if report_path.exists() else {}
    return CorpusRun(
        course,
        driver,
        scores,
        ungraded,
        manual,
        report,
        before,
        _bystander_rows(course / "gradebook.db"),
        listener.heard,
    )


def test_the_run_ends_with_every_student_graded(corpus):
    assert corpus.driver.returncode == 0, (
        f"`python -m grading grade` failed:\n{corpus.driver.stdout[-3000:]}\n{corpus.driver.stderr[-3000:]}"
    )
    missing = sorted(k.name for k in KINDS if k.name not in corpus.scores)
    assert not missing, f"no submission in the gradebook for {missing}"
    ungraded = {student: ids for student, ids in corpus.ungraded.items() if ids}
    assert not ungraded, f"grades left without a score (NULL), by student: {ungraded}"
    assert sorted(corpus.report) == sorted(k.name for k in KINDS), "report.csv should have one row per submission"
    # a short answer is scored 0 when left as released, else left to a grader (no score, flagged), whatever the kind
    odd = {
        student: grades
        for student, grades in corpus.manual.items()
        if sorted(grades) != sorted(MANUAL) or any(v not in ((0, False), (None, True)) for v in grades.values())
    }
    assert not odd, f"short answers neither scored 0 nor left to the grader: {odd}"


@pytest.mark.parametrize("kind", KINDS, ids=[k.name for k in KINDS])
def test_each_kind_gets_its_outcome(corpus, kind):
    assert kind.name in corpus.scores, f"{kind.name} was not graded"
    score, max_score = corpus.scores[kind.name]
    assert max_score == MAX_SCORE, f"{kind.name}: the assignment is worth {max_score}, not {MAX_SCORE}"
    assert score == kind.expected, (
        f"{kind.name} ({kind.why}) scores {score}, expected {kind.expected}; "
        f"grading notes: {corpus.report.get(kind.name, {}).get('notes')}"
    )


def test_broken_files_are_rejected_with_a_reason(corpus):
    for kind in (k for k in KINDS if k.rejected):
        row = corpus.report[kind.name]
        assert row["status"] == "rejected" and "could not be read" in row["notes"], (
            f"{kind.name}: expected a rejection with its reason, report says {row}"
        )


def test_repairs_and_left_out_files_are_noted(corpus):
    expected_words = {
        "duplicate_tests": "second copy",
        "claimed_points": "nbgrader settings",
        "tampered_schema": "schema_version",
        "deleted_tests": "missing from the submission",
        "unmarked_tests": "missing from the submission",
        "numpy_shadow": "numpy.py was left out",
        "symlink_to_solutions": "answers.json was left out",
        "duplicate_solution": "second copy",
    }
    for student, words in expected_words.items():
        assert words in corpus.report[student]["notes"], (
            f"{student}: notes should mention {words!r}: {corpus.report[student]}"
        )


def test_another_students_grades_are_untouched(corpus):
    assert corpus.bystander_after == corpus.bystander_before, "a graded run changed a student it did not grade"


def test_nothing_escaped_the_sandbox(corpus):
    assert not corpus.connections, f"a submission reached a server on the grading machine: {corpus.connections}"
    escaped = [p for p in (corpus.course / "pwned.txt", corpus.course.parent / "pwned.txt") if p.exists()]
    assert not escaped, f"a submission wrote outside its sandbox: {escaped}"
    nb = nbformat.read(corpus.course / "autograded" / "graded_mode" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", 4)
    outputs = json.dumps([c.get("outputs", []) for c in nb.cells])
    assert GRADED_MARKER not in outputs, "NBGRADER_EXECUTION (or another NBGRADER_ variable) reached the kernel"


def test_output_is_capped(corpus):
    for student in ("huge_output", "one_long_line"):
        notebook = corpus.course / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        page = corpus.course / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html"
        assert notebook.stat().st_size < 2 * 2**20, (
            f"{student}: the autograded notebook is {notebook.stat().st_size} bytes"
        )
        assert page.stat().st_size < 3 * 2**20, f"{student}: the feedback page is {page.stat().st_size} bytes"


def test_no_feedback_page_carries_active_content(corpus):
    from test_inert_output import active_content

    for kind in KINDS:
        page = corpus.course / "feedback" / kind.name / ASSIGNMENT / f"{ASSIGNMENT}.html"
        live = active_content(page.read_text()) if page.exists() else []
        assert not live, f"the feedback of {kind.name} runs or loads what the submission displays: {live[:2]}"


def test_feedback_says_why_without_hidden_code(corpus):
    from test_nbgrader_pipeline import hidden_test_lines, html_text

    source = nbformat.read(ROOT / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", 4)
    hidden = hidden_test_lines(source)
    for kind in KINDS:
        page = corpus.course / "feedback" / kind.name / ASSIGNMENT / f"{ASSIGNMENT}.html"
        assert page.exists(), f"no feedback for {kind.name}"
        text = html_text(page)
        leaked = sorted(line for line in hidden if line in text)
        assert not leaked, f"the feedback of {kind.name} shows hidden test code: {leaked[:2]}"
    says = {
        "always_equal": "expected the str 'teacher'",
        "nan_none": "expected a finite number",
        "os_exit": "KernelDied",
        "sigint_ignored": "KernelUnresponsive",
        "patched_during_test": "GradingIntegrityError",
        "rebound_during_test": "the test's check_close",
        "kernel_takeover": "GradingGuardError",
        "empty_file": "the file is empty",
    }
    for student, words in says.items():
        text = html_text(corpus.course / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html")
        assert words in text, f"the feedback of {student} should say {words!r}"
