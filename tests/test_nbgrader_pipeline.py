"""The instructor's nbgrader pipeline, end to end, for every assignment in exercises/.

In a temporary copy of the course: generate_assignment -> three submissions (the reference solution,
the untouched release, a plausible mistake from tests/fixtures/<assignment>/wrong.json) -> autograde
-> generate_feedback -> export. The pipeline runs once per assignment; the tests then read its results.
Each assignment ends with a short answer graded by hand: autograde leaves an answered one to the grader
(tests/test_manual_grading.py grades it in the formgrader), so the scores here are the tests' points.
"""

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from course import autograded_points, manual_answers

from grading.bench import reference_solutions

pytestmark = pytest.mark.nbgrader

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# The environment's bin/: nbgrader itself, and alembic, which nbgrader runs by name to create a gradebook.
BIN = Path(sys.executable).parent
ASSIGNMENTS = sorted({nb.parent.name for nb in (ROOT / "exercises").glob("*/*.ipynb")})
STUDENTS = ("reference", "blank", "wrong")
MARKERS = re.compile(r"(BEGIN|END) (SOLUTION|HIDDEN TESTS|MARK SCHEME)")


def nbgrader_meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def grade_ids_of_tests(nb) -> list[str]:
    return [nbgrader_meta(c)["grade_id"] for c in nb.cells if nbgrader_meta(c).get("grade")]


def plain(text: str) -> str:
    """Markdown as a reader sees it, near enough to find a line in a rendered page: no emphasis, code or list marks."""
    text = re.sub(r"^\s*(?:[-*]|\d+\.)\s+", "", text, flags=re.MULTILINE)
    return " ".join(re.sub(r"[*`]", "", text).split())


def region_lines(cells, begin: str, end: str) -> set[str]:
    """The plain text of the markdown lines inside `begin` … `end` regions (model answers, rubrics), long enough
    to be specific."""
    found = set()
    for cell in (c for c in cells if c.cell_type == "markdown"):
        inside = False
        for line in cell.source.split("\n"):
            if begin in line:
                inside = True
            elif end in line:
                inside = False
            elif inside and len(plain(line)) >= 20:
                found.add(plain(line))
    return found


def rubric_lines(cells) -> set[str]:
    return region_lines(cells, "BEGIN MARK SCHEME", "END MARK SCHEME")


def model_answer_lines(cells) -> set[str]:
    return region_lines(cells, "BEGIN SOLUTION", "END SOLUTION")


def hidden_test_lines(nb) -> set[str]:
    """Lines of code that occur only inside hidden-test regions of `nb` (stripped, long enough to be specific)."""
    hidden, visible, inside = set(), set(), False
    for cell in nb.cells:
        for line in cell.source.split("\n"):
            if "BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "END HIDDEN TESTS" in line:
                inside = False
            else:
                (hidden if inside else visible).add(line.strip())
    return {line for line in hidden - visible if len(line) >= 12}


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts = []

    def handle_data(self, data):
        self.parts.append(data)


def html_text(page: Path | str) -> str:
    """What a reader sees in an HTML page (a file, or its text): tags dropped (code is split into highlighting spans),
    entities decoded."""
    parser = _Text()
    parser.feed(page.read_text(encoding="utf-8") if isinstance(page, Path) else page)
    return "".join(parser.parts)


@dataclass
class Run:
    assignment: str
    course: Path
    sources: dict  # notebook name -> source NotebookNode
    releases: dict  # notebook name -> released NotebookNode
    wrong: dict  # the fixture
    scores: dict  # student -> (score, max_score)
    failed: dict  # student -> grade_ids of test cells not given full points
    manual: dict  # student -> {grade_id of a manually graded answer: (auto_score, needs_manual_grade)}


def _nbgrader(course: Path, *args: str) -> str:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(
        [str(BIN / "nbgrader"), *args], cwd=course, env=env, capture_output=True, text=True, timeout=600
    )
    if done.returncode != 0:
        pytest.fail(f"`nbgrader {' '.join(args)}` exited with {done.returncode}:\n{done.stderr[-4000:]}")
    return done.stderr


def _submit(course: Path, assignment: str, student: str, name: str, nb) -> None:
    folder = course / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / f"{name}.ipynb")


# each assignment's tests on one worker, so that its pipeline runs once
@pytest.fixture(
    scope="module", params=[pytest.param(a, marks=pytest.mark.xdist_group(f"pipeline-{a}")) for a in ASSIGNMENTS]
)
def run(request, tmp_path_factory) -> Run:
    """The whole pipeline, once per assignment, in a temporary copy of the course."""
    if not (BIN / "nbgrader").exists():
        pytest.fail(f"no nbgrader next to {sys.executable}; run `make env`")
    assignment = request.param
    wrong_path = FIXTURES / assignment / "wrong.json"
    assert wrong_path.exists(), f"{assignment} has no wrong submission: add {wrong_path.relative_to(ROOT)}"
    wrong = json.loads(wrong_path.read_text())

    course = tmp_path_factory.mktemp(assignment)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "exercises", course / "exercises", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))

    _nbgrader(course, "generate_assignment", assignment)
    names = sorted(p.stem for p in (course / "exercises" / assignment).glob("*.ipynb"))
    sources = {n: nbformat.read(course / "exercises" / assignment / f"{n}.ipynb", 4) for n in names}
    releases = {n: nbformat.read(course / "release" / assignment / f"{n}.ipynb", 4) for n in names}

    unknown = set(wrong["cells"]) - {
        nbgrader_meta(c)["grade_id"] for nb in sources.values() for c in nb.cells if nbgrader_meta(c).get("solution")
    }
    assert not unknown, f"{wrong_path.name} replaces cells that are not solution cells of {assignment}: {unknown}"

    for name in names:
        solutions = reference_solutions(sources[name])
        reference, wrong_nb = nbformat.from_dict(releases[name]), nbformat.from_dict(releases[name])
        for ref_cell, wrong_cell in zip(reference.cells, wrong_nb.cells):
            grade_id = nbgrader_meta(ref_cell).get("grade_id")
            if nbgrader_meta(ref_cell).get("solution"):
                ref_cell.source = solutions[grade_id]
                wrong_cell.source = wrong["cells"].get(grade_id, solutions[grade_id])
        _submit(course, assignment, "reference", name, reference)
        _submit(course, assignment, "blank", name, releases[name])
        _submit(course, assignment, "wrong", name, wrong_nb)

    _nbgrader(course, "autograde", assignment)
    _nbgrader(course, "generate_feedback", assignment)
    _nbgrader(course, "export", "--to", "grades.csv")

    from nbgrader.api import Gradebook

    answers = {c.metadata.nbgrader["grade_id"] for nb in sources.values() for c in manual_answers(nb)}
    scores, failed, manual = {}, {}, {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="relucourse") as gb:
        for student in STUDENTS:
            submission = gb.find_submission(assignment, student)
            scores[student] = (submission.score, submission.max_score)
            grades = [g for nb in submission.notebooks for g in nb.grades]
            failed[student] = sorted(g.name for g in grades if g.name not in answers and g.score < g.max_score)
            manual[student] = {g.name: (g.auto_score, g.needs_manual_grade) for g in grades if g.name in answers}
    return Run(assignment, course, sources, releases, wrong, scores, failed, manual)


def test_release_has_no_solutions_or_hidden_tests(run):
    for name, nb in run.releases.items():
        text = "\n".join(cell.source for cell in nb.cells)
        assert not MARKERS.search(text), (
            f"release/{run.assignment}/{name}.ipynb still has a solution or hidden-test marker"
        )
        assert hidden_test_lines(run.sources[name]), f"exercises/{run.assignment}/{name}.ipynb has no hidden tests"
        leaked = sorted(line for line in hidden_test_lines(run.sources[name]) if line in text)
        assert not leaked, f"release/{run.assignment}/{name}.ipynb shows hidden test code: {leaked[:3]}"
        unsolved = [
            c.metadata.nbgrader["grade_id"]
            for c in nb.cells
            if nbgrader_meta(c).get("solution")
            and c.cell_type == "code"
            and "raise NotImplementedError()" not in c.source
        ]
        assert not unsolved, f"release/{run.assignment}/{name}.ipynb: solution cells not cleared: {unsolved}"


def test_release_keeps_every_graded_cell(run):
    for name, source in run.sources.items():

        def graded(nb):
            return {
                m["grade_id"]: m.get("points")
                for m in map(nbgrader_meta, nb.cells)
                if m.get("grade") or m.get("solution")
            }

        assert graded(run.releases[name]) == graded(source), (
            f"release/{run.assignment}/{name}.ipynb lost or changed graded cells: "
            f"source has {graded(source)}, release has {graded(run.releases[name])}"
        )


def test_reference_solution_gets_full_marks(run):
    # full marks from the tests; the short answer waits for the grader (test_short_answers_wait_for_the_grader)
    score, max_score = run.scores["reference"]
    tests = sum(autograded_points(nb) for nb in run.sources.values())
    everything = sum(float(nbgrader_meta(c).get("points", 0)) for nb in run.sources.values() for c in nb.cells)
    assert tests > 0, f"{run.assignment} has no points to give"
    assert max_score == everything, f"{run.assignment} is worth {max_score}, its cells' points add up to {everything}"
    assert score == tests, (
        f"the reference solution of {run.assignment} scores {score}/{max_score}, its tests are worth {tests}; "
        f"tests failing on the instructor's own solution: {run.failed['reference']}"
    )


def test_every_assignment_has_one_short_answer_with_its_points_and_rubric(run):
    answers = [(name, nb.cells.index(c), c) for name, nb in run.sources.items() for c in manual_answers(nb)]
    assert len(answers) == 1, f"{run.assignment} should have one manually graded answer, has {len(answers)}"
    name, index, answer = answers[0]
    question = run.sources[name].cells[index - 1]
    points = nbgrader_meta(answer)["points"]
    assert answer.cell_type == "markdown" and not nbgrader_meta(answer).get("locked")
    assert question.cell_type == "markdown" and nbgrader_meta(question).get("locked"), (
        f"{run.assignment}: the short answer's question should be the locked cell above it"
    )
    assert re.search(rf"\({points:g} points", question.source), f"{run.assignment}: the question must state its points"
    assert model_answer_lines([answer]), f"{run.assignment}: no model answer in the answer's solution region"
    assert rubric_lines([question]), f"{run.assignment}: no rubric (mark scheme) in the question cell"
    # the grader sees a rubric only where autograde restores it: in a locked cell (the gradebook keeps its source)
    for nb in run.sources.values():
        for cell in nb.cells:
            if "BEGIN MARK SCHEME" in cell.source:
                assert nbgrader_meta(cell).get("locked"), f"{run.assignment}: a mark scheme in an unlocked cell"


def test_release_shows_the_question_but_neither_model_answer_nor_rubric(run):
    for name, nb in run.releases.items():
        text = plain("\n".join(cell.source for cell in nb.cells))
        for cell in manual_answers(nb):
            assert cell.source.strip() == "YOUR ANSWER HERE", f"release/{run.assignment}/{name}: {cell.source[:200]!r}"
        for cell in manual_answers(run.sources[name]):
            question = run.sources[name].cells[run.sources[name].cells.index(cell) - 1]
            asked = question.source.split("\n")[0]
            assert plain(asked) in text, (
                f"release/{run.assignment}/{name}.ipynb lacks the short answer's question {asked!r}"
            )
        for kind, lines in (("model answer", model_answer_lines), ("rubric", rubric_lines)):
            leaked = sorted(line for line in lines(run.sources[name].cells) if line in text)
            assert not leaked, f"release/{run.assignment}/{name}.ipynb shows the {kind}: {leaked[:2]}"


def test_short_answers_wait_for_the_grader(run):
    # answered (the reference and the wrong submission hold the model answer): no score until a grader gives one;
    # left as released: 0, nothing to grade
    for student in ("reference", "wrong"):
        assert run.manual[student] and all(v == (None, True) for v in run.manual[student].values()), (
            f"{student}'s short answer should need manual grading, the gradebook says {run.manual[student]}"
        )
    assert run.manual["blank"] and all(v == (0, False) for v in run.manual["blank"].values()), (
        f"an unanswered short answer should score 0 without a grader, the gradebook says {run.manual['blank']}"
    )


def test_the_grader_sees_the_rubric_and_the_student_does_not(run):
    # the formgrader shows the autograded notebook; the feedback goes to the student
    for name, source in run.sources.items():
        rubric = rubric_lines(source.cells)
        graded = nbformat.read(run.course / "autograded" / "reference" / run.assignment / f"{name}.ipynb", 4)
        missing = sorted(rubric - rubric_lines(graded.cells))
        assert rubric and not missing, (
            f"the graded {name}.ipynb, which the formgrader shows, lacks the rubric: {missing[:2]}"
        )
        for student in STUDENTS:
            text = plain(html_text(run.course / "feedback" / student / run.assignment / f"{name}.html"))
            leaked = sorted(line for line in rubric if line in text)
            assert not leaked, f"the feedback of {student} shows the graders' rubric: {leaked[:2]}"


def test_blank_release_gets_zero(run):
    score, max_score = run.scores["blank"]
    assert score == 0, (
        f"the untouched release of {run.assignment} scores {score}/{max_score}: tests passing without any "
        f"work: {sorted({t for nb in run.sources.values() for t in grade_ids_of_tests(nb)} - set(run.failed['blank']))}"
    )


def test_blank_release_fails_only_in_the_learners_cells(run):
    # The blank submission is the release executed as-is (autograded/ keeps the outputs): every error
    # must be the NotImplementedError of an unfilled solution cell, never a bug in the course's own cells.
    ansi = re.compile(r"\x1b\[[0-9;]*m")
    for name in run.sources:
        nb = nbformat.read(run.course / "autograded" / "blank" / run.assignment / f"{name}.ipynb", 4)
        by_count = {c.execution_count: c for c in nb.cells if c.cell_type == "code"}
        errors = [(c, o) for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
        assert errors, f"the blank {name}.ipynb raised nothing: do its solution cells raise NotImplementedError?"
        for cell, error in errors:
            where = f"the blank {name}.ipynb, cell {cell.id}"
            assert error.ename == "NotImplementedError", f"{where} fails with {error.ename}: {error.evalue}"
            frames = re.findall(r"Cell In\[(\d+)\]", ansi.sub("", "\n".join(error.traceback)))
            raised_in = by_count.get(int(frames[-1])) if frames else None
            assert raised_in is not None and nbgrader_meta(raised_in).get("solution"), (
                f"{where}: the NotImplementedError is not raised by a solution cell"
            )


def test_wrong_submission_gets_expected_partial_score(run):
    score, max_score = run.scores["wrong"]
    assert score == run.wrong["expected_score"], (
        f"the wrong submission of {run.assignment} ({run.wrong['description']}) scores {score}/{max_score}, "
        f"expected {run.wrong['expected_score']}; tests it failed: {run.failed['wrong']}"
    )


def test_feedback_is_one_html_per_student_without_hidden_tests(run):
    for student in STUDENTS:
        for name, source in run.sources.items():
            page = run.course / "feedback" / student / run.assignment / f"{name}.html"
            assert page.exists(), f"no feedback for {student}: {page.relative_to(run.course)} is missing"
            text = html_text(page)
            visible = next(c.source.split("\n")[0] for c in run.releases[name].cells if nbgrader_meta(c).get("grade"))
            assert visible in text, (
                f"{page.name} for {student} does not show the visible tests (is the page text readable?)"
            )
            leaked = sorted(line for line in hidden_test_lines(source) if line in text)
            assert not leaked, f"the feedback of {student} shows hidden test code: {leaked[:3]}"
    assert sorted(p.name for p in (run.course / "feedback").iterdir()) == sorted(STUDENTS), (
        "feedback/ should have exactly one folder per student"
    )


def test_wrong_feedback_gives_each_failing_test_its_message_without_traceback(run):
    # A traceback quotes the test cell's code, hidden part included; nbgrader_config.py keeps only "Error: message".
    for name in run.sources:
        text = html_text(run.course / "feedback" / "wrong" / run.assignment / f"{name}.html")
        autograded = nbformat.read(run.course / "autograded" / "wrong" / run.assignment / f"{name}.ipynb", 4)
        for cell in autograded.cells:
            for error in (o for o in cell.get("outputs", []) if o.output_type == "error"):
                line = f"{error.ename}: {error.evalue}"
                assert line in text, f"the wrong submission's feedback lacks the message of {cell.id}: {line!r}"
        assert "Cell In[" not in text, "the wrong submission's feedback shows tracebacks, which quote test code"


def test_export_has_one_row_per_student(run):
    with open(run.course / "grades.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["assignment"] == run.assignment]
    assert sorted(r["student_id"] for r in rows) == sorted(STUDENTS), (
        f"grades.csv should have one {run.assignment} row per student, got {[r['student_id'] for r in rows]}"
    )
    for row in rows:
        assert float(row["score"]) == run.scores[row["student_id"]][0], (
            f"grades.csv gives {row['student_id']} {row['score']}, the gradebook {run.scores[row['student_id']][0]}"
        )
