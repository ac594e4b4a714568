"""The formgrader's manual path: a short answer graded by hand through the formgrader's REST API, then feedback.

In a temporary course: dying_relu released, one student's submission (the reference solution, their own
short answer) graded by `python -m grading grade` (what `make grade` runs), then a Jupyter server with the
formgrader (the hub's formgrader service's settings) in the course. The instructor's requests are the ones the
formgrader's page makes: the student's graded notebook, the grades and comments of it, ``PUT
/formgrader/api/grade/<id>`` with a manual score, ``PUT /formgrader/api/comment/<id>`` with a comment, then
*Generate feedback* (``POST /formgrader/api/assignment/<assignment>/<student>/generate_feedback``).
"""

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
import requests
from course import autograded_points, formgrader_server, manual_answers, released_course, venv_env
from test_nbgrader_pipeline import html_text, plain, rubric_lines

from grading.bench import reference_solutions

pytestmark = pytest.mark.grading

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT, STUDENT = "dying_relu", "learner01"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
ANSWER = "One input crosses only if x < -sqrt(50); that is Phi(-7.07), about 8e-13 a step: never in practice."
MANUAL_SCORE = 1.5
COMMENT = "Right condition and probability; the 2000-step chance (about 1.5e-9) is missing."


@dataclass
class Graded:
    course: Path
    url: str
    token: str
    source: nbformat.NotebookNode

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        answer = requests.request(
            method,
            f"{self.url}/formgrader/{path}",
            headers={"Authorization": f"token {self.token}"},
            timeout=120,
            **kwargs,
        )
        assert answer.ok, f"{method} /formgrader/{path}: {answer.status_code} {answer.text[:500]}"
        return answer


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Graded:
    if shutil.which("bwrap") is None:
        pytest.fail("bubblewrap is missing: `make test` installs it (apt-get install -y bubblewrap)")
    course = released_course(tmp_path_factory.mktemp("manual"), ASSIGNMENT)
    source = nbformat.read(course / "exercises" / ASSIGNMENT / NOTEBOOK, as_version=4)
    submission = nbformat.read(course / "release" / ASSIGNMENT / NOTEBOOK, as_version=4)
    solutions = {
        **reference_solutions(source),
        **{c.metadata.nbgrader["grade_id"]: ANSWER for c in manual_answers(source)},
    }
    for cell in submission.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            cell.source = solutions[meta["grade_id"]]
    (course / "submitted" / STUDENT / ASSIGNMENT).mkdir(parents=True)
    nbformat.write(submission, course / "submitted" / STUDENT / ASSIGNMENT / NOTEBOOK)
    done = subprocess.run(
        [sys.executable, "-m", "grading", "grade", ASSIGNMENT, "--root", str(course), "--jobs", "1", "--no-progress"],
        cwd=ROOT,
        env=venv_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"grading failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    with formgrader_server(course, tmp_path_factory.mktemp("jupyter")) as (url, token):
        yield Graded(course, url, token, source)


def _submission(graded: Graded) -> dict:
    listed = graded.api("GET", f"api/submitted_notebooks/{ASSIGNMENT}/{ASSIGNMENT}").json()
    return next(s for s in listed if s["student"] == STUDENT)


def _answer_grade(graded: Graded, submission_id: str) -> dict:
    grades = graded.api("GET", "api/grades", params={"submission_id": submission_id}).json()
    (answer,) = [g for g in grades if g["name"] == manual_answers(graded.source)[0].metadata.nbgrader["grade_id"]]
    return answer


def test_the_short_answer_waits_for_a_grader_who_sees_the_rubric(graded):
    submission = _submission(graded)
    answer = _answer_grade(graded, submission["id"])
    assert answer["needs_manual_grade"] and answer["auto_score"] is None and answer["manual_score"] is None, answer
    assert submission["needs_manual_grade"], "the formgrader should flag the submission for manual grading"
    assert submission["score"] == autograded_points(graded.source), (
        f"before manual grading the score is the tests' points, {autograded_points(graded.source)}: {submission}"
    )
    page = plain(html_text(graded.api("GET", f"submissions/{submission['id']}/").text))
    assert ANSWER in page, "the formgrader's page of the submission does not show the student's answer"
    missing = [line for line in rubric_lines(graded.source.cells) if line not in page]
    assert not missing, f"the formgrader's page does not show the graders' rubric: {missing[:2]}"


def test_a_manual_score_and_comment_reach_the_gradebook_and_the_feedback(graded):
    submission = _submission(graded)
    answer = _answer_grade(graded, submission["id"])
    stored = graded.api("PUT", f"api/grade/{answer['id']}", data=json.dumps({"manual_score": MANUAL_SCORE})).json()
    assert stored["manual_score"] == MANUAL_SCORE and not stored["needs_manual_grade"], stored
    comments = graded.api("GET", "api/comments", params={"submission_id": submission["id"]}).json()
    (comment,) = [c for c in comments if c["name"] == answer["name"]]
    graded.api("PUT", f"api/comment/{comment['id']}", data=json.dumps({"manual_comment": COMMENT}))

    total = autograded_points(graded.source) + MANUAL_SCORE
    regraded = _submission(graded)
    assert regraded["score"] == total and not regraded["needs_manual_grade"], regraded

    made = graded.api("POST", f"api/assignment/{ASSIGNMENT}/{STUDENT}/generate_feedback").json()
    assert made.get("success"), f"generate_feedback failed: {made.get('error', made)}"
    page = " ".join(html_text(graded.course / "feedback" / STUDENT / ASSIGNMENT / f"{ASSIGNMENT}.html").split())
    points = manual_answers(graded.source)[0].metadata.nbgrader["points"]
    everything = sum(c.metadata.get("nbgrader", {}).get("points", 0) for c in graded.source.cells)
    assert COMMENT in page, "the feedback does not show the grader's comment"
    assert re.search(rf"Written response \(Score: {MANUAL_SCORE:g}(\.0)? / {points:g}(\.0)?\)", page), (
        "the feedback does not show the manual score of the short answer"
    )
    assert re.search(rf"\(Score: {total:g}(\.0)? / {everything:g}(\.0)?\)", page), (
        f"the feedback's total is not {total:g}"
    )
    leaked = [line for line in rubric_lines(graded.source.cells) if line in plain(page)]
    assert not leaked, f"the feedback shows the graders' rubric: {leaked[:2]}"
