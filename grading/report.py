"""``make report``: what the class misunderstood, per assignment, from what ``make grade`` left.

Reads the gradebook (each student's score and each test cell's), the autograded notebooks (each failing
test's message, the learner's answer above it), ``.grading/<assignment>/report.csv`` (what the pre-check
repaired or rejected) and the source notebooks (each test's lesson section, in the test cell's metadata
``relucourse.reteach``). Writes ``.grading/<assignment>/misconceptions.csv`` (one row per diagnosis:
``test,message,students,student_ids``) and ``.grading/<assignment>/class.html``, one self-contained page
(figures inline as SVG, no script, student text escaped); across assignments, ``.grading/class.html``.

The short answers graded by hand in the formgrader are no tests: they get no diagnosis and no item analysis,
and a submission whose answer is not graded yet is listed as such (its score counts the answer as 0 until then).

A *diagnosis* is a failing test's message with every number and address blanked: numbers that depend on
the student's input do not split a group, and the same mistake gives the same key whatever else the
student got wrong (the checkers name one mistake, from the test's own cases).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import jinja2
import nbformat
import numpy as np
from markupsafe import Markup
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from nbgrader.api import Gradebook

from grading.driver import Course

__all__ = [
    "NOT_ATTEMPTED",
    "Diagnosis",
    "ClassResults",
    "diagnosis_key",
    "group_diagnoses",
    "write_misconceptions",
    "shown_message",
    "read_results",
    "write_report",
    "write_overview",
    "main",
]

_NUMBER = re.compile(r"0x[0-9a-fA-F]+|[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|\bnan\b|\binf\b")
_BOOK = "../../_build/html"  # the built book, from .grading/<assignment>/
_NOT_ANSWERS = ("rejected", "fallback", "failed")  # make grade's statuses of a submission graded as the release
NOT_ATTEMPTED = "not attempted: the task still raises NotImplementedError"  # the diagnosis of a task left as released
_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


def diagnosis_key(message: str) -> str:
    """The message with every number (and hex address) replaced by '#': the same mistake, the same key."""
    return _NUMBER.sub("#", " ".join(message.split()))


def shown_message(messages: list[str]) -> str:
    """One message for a group: its numbers where all members agree, '…' where they differ."""
    parts = [_NUMBER.split(m) for m in messages]
    numbers = [_NUMBER.findall(m) for m in messages]
    text = parts[0][0]
    for i, piece in enumerate(parts[0][1:]):
        column = {n[i] for n in numbers}
        text += (column.pop() if len(column) == 1 else "…") + piece
    return " ".join(text.split())


@dataclass
class Test:
    grade_id: str
    notebook: str
    points: float
    reteach: str | None  # "lessons/<name>#<section>"


@dataclass
class Diagnosis:
    test: str
    key: str
    message: str
    students: list[str]
    answers: list[str]  # up to three different answers of its students, anonymised (no names, in a fixed order)

    @property
    def attempted(self) -> bool:
        return self.message != NOT_ATTEMPTED


@dataclass
class ClassResults:
    assignment: str
    tests: list[Test]
    scores: dict[str, float]  # student -> score
    max_score: float
    passed: dict[str, dict[str, float]]  # student -> test -> fraction of its points
    diagnoses: list[Diagnosis]
    late: dict[str, float]  # student -> seconds late
    statuses: dict[str, str] = field(
        default_factory=dict
    )  # student -> graded | repaired | rejected | fallback | failed
    notes: dict[str, list[str]] = field(default_factory=dict)
    timestamps: dict[str, str] = field(default_factory=dict)
    awaiting: list[str] = field(default_factory=list)  # students with an answer still to grade by hand


def _tests(course: Course) -> list[Test]:
    tests = []
    for path in sorted(course.folder("source").glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade") and not meta.get("solution"):
                tests.append(
                    Test(
                        meta["grade_id"],
                        path.stem,
                        float(meta.get("points", 0)),
                        cell.metadata.get("relucourse", {}).get("reteach"),
                    )
                )
    return tests


def _failures(course: Course, student: str) -> dict[str, tuple[str, str]]:
    """test grade_id -> (its error message, the learner's answer above it) for each test that raised."""
    found = {}
    for path in sorted(course.folder("autograded", student).glob("*.ipynb")):
        answer = ""
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution"):
                answer = cell.source
            elif meta.get("grade") and cell.cell_type == "code":
                errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
                if errors:
                    found[meta["grade_id"]] = (
                        f"{errors[0].get('ename', 'Error')}: {errors[0].get('evalue', '')}",
                        answer,
                    )
    return found


def _anonymous_order(student: str) -> str:
    return hashlib.sha256(student.encode()).hexdigest()


def group_diagnoses(tests: list[str], failures: dict[str, dict[str, tuple[str, str]]]) -> list[Diagnosis]:
    """The diagnoses, most common first and the tasks not attempted last, from student -> failing test -> (its
    message, the answer above it); `tests` are the grade_ids in the notebook's order (ties in count follow it)."""
    groups: dict[tuple[str, str], list[tuple[str, str, str]]] = defaultdict(list)
    for student in sorted(failures):
        for test, (message, answer) in failures[student].items():
            if message.strip() == "NotImplementedError:":
                message = NOT_ATTEMPTED
            groups[(test, diagnosis_key(message))].append((student, message, answer))
    order = {grade_id: i for i, grade_id in enumerate(tests)}
    diagnoses = [
        Diagnosis(
            test,
            key,
            shown_message([m for _, m, _ in members]),
            [s for s, _, _ in members],
            list(dict.fromkeys(a for _, _, a in sorted(members, key=lambda m: _anonymous_order(m[0]))))[:3],
        )
        for (test, key), members in groups.items()
    ]
    diagnoses.sort(key=lambda d: (not d.attempted, -len(d.students), order.get(d.test, 0), d.key))
    return diagnoses


def write_misconceptions(handle: TextIO, diagnoses: list[Diagnosis]) -> None:
    """misconceptions.csv: one row per diagnosis, ``test,message,students,student_ids`` (ids separated by ';')."""
    writer = csv.writer(handle)
    writer.writerow(["test", "message", "students", "student_ids"])
    for d in diagnoses:
        writer.writerow([d.test, d.message, len(d.students), ";".join(d.students)])


def read_results(root: Path, assignment: str) -> ClassResults:
    """Everything the report shows, from the gradebook, autograded/ and .grading/<assignment>/report.csv."""
    course = Course.load(root, assignment)
    if course.db_url.startswith("sqlite:///") and not Path(course.db_url[len("sqlite:///") :]).is_file():
        raise ValueError(f"no gradebook at {course.db_url}: run make grade ASSIGNMENT={assignment} first")
    tests = _tests(course)
    scores, passed, late, timestamps, awaiting, max_score = {}, {}, {}, {}, [], 0.0
    with Gradebook(course.db_url, course_id=course.course_id) as gb:
        for submission in gb.assignment_submissions(assignment):
            student = submission.student.id
            scores[student], max_score = float(submission.score), float(submission.max_score)
            passed[student] = {
                g.name: (float(g.score or 0) / float(g.max_score) if g.max_score else 1.0)
                for nb in submission.notebooks
                for g in nb.grades
                if g.cell_type == "code"
            }
            if submission.needs_manual_grade:
                awaiting.append(student)
            if submission.total_seconds_late and submission.total_seconds_late > 0:
                late[student] = float(submission.total_seconds_late)
            if submission.timestamp is not None:
                timestamps[student] = submission.timestamp.isoformat(sep=" ", timespec="minutes")
    summary = course.work / "report.csv"
    statuses, notes = {}, {}
    if summary.is_file():
        with open(summary, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                statuses[row["student"]] = row["status"]
                notes[row["student"]] = [n for n in row["notes"].split(" | ") if n]
    failures = {}
    for student in sorted(scores):
        if statuses.get(student) in _NOT_ANSWERS:
            continue  # graded as the release: what failed says nothing about what the student thinks
        said = _failures(course, student)
        failures[student] = {
            test.grade_id: said.get(test.grade_id, ("the test failed without a message", ""))
            for test in tests
            if passed[student].get(test.grade_id, 0.0) < 1.0
        }
    diagnoses = group_diagnoses([t.grade_id for t in tests], failures)
    return ClassResults(
        assignment, tests, scores, max_score, passed, diagnoses, late, statuses, notes, timestamps, sorted(awaiting)
    )


def item_analysis(results: ClassResults) -> list[dict]:
    """Per test: how many passed, difficulty (the share who passed) and discrimination (point-biserial
    correlation of passing it with the rest of the score; None where either does not vary). Submissions
    graded as the release (rejected, failed) say nothing about a test and are left out."""
    students = sorted(s for s in results.scores if results.statuses.get(s) not in _NOT_ANSWERS)
    rows = []
    for test in results.tests:
        item = np.array([results.passed[s].get(test.grade_id, 0.0) for s in students])
        rest = np.array([results.scores[s] for s in students]) - item * test.points
        discrimination = None
        if len(students) > 1 and item.std() > 0 and rest.std() > 0:
            discrimination = float(np.corrcoef(item, rest)[0, 1])
        rows.append(
            {
                "test": test,
                "passed": int((item >= 1).sum()),
                "students": len(students),
                "difficulty": float(item.mean()) if students else 0.0,
                "discrimination": discrimination,
            }
        )
    return rows


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]  # inline: no XML prolog


def _score_figure(results: ClassResults) -> str:
    figure = Figure(figsize=(6, 2.6))
    ax = figure.subplots()
    bins = np.arange(0, results.max_score + 2) - 0.5
    ax.hist(list(results.scores.values()), bins=bins, color="#4c72b0", edgecolor="white")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(f"score (of {results.max_score:g})")
    ax.set_ylabel("students")
    ax.set_title(f"{results.assignment}: score distribution")
    return _svg(figure)


def _pass_figure(rows: list[dict], assignment: str) -> str:
    figure = Figure(figsize=(6, 0.3 * len(rows) + 1))
    ax = figure.subplots()
    names = [r["test"].grade_id for r in rows]
    ax.barh(names, [r["difficulty"] for r in rows], color="#55a868")
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of the class that passed")
    ax.set_title(f"{assignment}: each test")
    return _svg(figure)


def _reteach_link(reteach: str | None) -> str | None:
    if not reteach:
        return None
    page, _, section = reteach.partition("#")
    return f"{_BOOK}/{page}.html" + (f"#{section}" if section else "")


def write_report(root: Path, assignment: str) -> ClassResults:
    """Write .grading/<assignment>/misconceptions.csv and class.html; return what they show."""
    results = read_results(root, assignment)
    if not results.scores:
        raise ValueError(
            f"no graded submissions of {assignment} in the gradebook: run make grade ASSIGNMENT={assignment}"
        )
    work = Course.load(root, assignment).work
    work.mkdir(parents=True, exist_ok=True)
    with open(work / "misconceptions.csv", "w", newline="", encoding="utf-8") as handle:
        write_misconceptions(handle, results.diagnoses)
    rows = item_analysis(results)
    tests = {t.grade_id: t for t in results.tests}
    statuses = defaultdict(list)
    for student, status in sorted(results.statuses.items()):
        statuses[status].append(student)
    page = _TEMPLATES.get_template("class.html.j2").render(
        results=results,
        rows=rows,
        tests=tests,
        statuses=dict(statuses),
        link=_reteach_link,
        score_figure=Markup(_score_figure(results)),
        pass_figure=Markup(_pass_figure(rows, assignment)),
        mean=float(np.mean(list(results.scores.values()))),
    )
    (work / "class.html").write_text(page, encoding="utf-8")
    return results


def _cohort_figure(classes: list[ClassResults]) -> str:
    figure = Figure(figsize=(6, 3))
    ax = figure.subplots()
    names = [c.assignment for c in classes]
    students = sorted({s for c in classes for s in c.scores})
    for student in students:
        shares = [c.scores[student] / c.max_score if student in c.scores and c.max_score else np.nan for c in classes]
        ax.plot(names, shares, color="#4c72b0", alpha=0.25, marker="o", markersize=3)
    ax.plot(
        names,
        [np.mean([s / c.max_score for s in c.scores.values()]) for c in classes],
        color="#c44e52",
        linewidth=2.5,
        label="class mean",
    )
    ax.set_ylim(-0.05, 1.05)
    ax.set_ylabel("share of the points")
    ax.set_title("the cohort over the assignments")
    ax.legend(loc="lower left")
    return _svg(figure)


def write_overview(root: Path, classes: list[ClassResults]) -> Path:
    """``.grading/class.html``: the cohort over the assignments, and the tests that do not discriminate."""
    flat = []
    for c in classes:
        for row in item_analysis(c):
            if row["students"] and row["passed"] in (0, row["students"]):
                flat.append(
                    {
                        "assignment": c.assignment,
                        "test": row["test"].grade_id,
                        "all": "everyone passes" if row["passed"] else "everyone fails",
                    }
                )
    students = sorted({s for c in classes for s in c.scores})
    page = _TEMPLATES.get_template("overview.html.j2").render(
        classes=classes, students=students, flat=flat, cohort_figure=Markup(_cohort_figure(classes))
    )
    path = Path(root).resolve() / ".grading" / "class.html"
    path.write_text(page, encoding="utf-8")
    return path


def _when(results: ClassResults) -> tuple[str, str]:
    """When the class handed the assignment in (the median submission time), for the cohort's time axis."""
    times = sorted(results.timestamps.values())
    return (times[len(times) // 2] if times else "", results.assignment)


def graded_assignments(root: Path) -> list[str]:
    """Assignments ``make grade`` has run for (a ``.grading/<assignment>/report.csv``), by name."""
    work = Path(root).resolve() / ".grading"
    return sorted(p.parent.name for p in work.glob("*/report.csv"))


def main(root: Path, assignment: str | None) -> list[Path]:
    """Write the report of `assignment`, or of every graded assignment and the overview; return the pages."""
    names = [assignment] if assignment else graded_assignments(root)
    if not names:
        raise ValueError("no graded assignment: run make grade ASSIGNMENT=<assignment> first")
    classes = sorted((write_report(root, name) for name in names), key=_when)
    pages = [Path(root).resolve() / ".grading" / name / "class.html" for name in names]
    if not assignment:
        pages.append(write_overview(root, classes))
    return pages
