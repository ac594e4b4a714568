"""The class on a real JupyterHub (`make hub`): the whole nbgrader cycle, and what a second student can reach.

The hub is `python -m classroom hub` (what `make hub` runs) on loopback, for a temporary copy of the course, with
an instructor and three students whose Unix accounts this module makes (and removes), logging in with passwords
through PAM, and the gradebook in a PostgreSQL server the module starts (Debian's postgresql). Students act
through the hub and nbgrader's HTTP API (the Assignments tab's handlers) and through nbgrader's command line in
a login shell of their own account; the instructor as root in the course directory, as the README says.
Feedback on submit (classroom/autofeedback.py) is on for ON_SUBMIT, not for the cycle's assignment: a student
submits and fetches their feedback, the hourly limit, privacy, a forged folder, and the instructor's own grading
after it; `-s` shows the seconds from Submit to the page. The Chromium test of the same hub is tests/test_hub_browser.py.
"""

from __future__ import annotations

import csv
import datetime
import json
import os
import pwd
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from course import ROOT, autograded_points, manual_answers
from hub import COURSE, Hub, as_user, collect_and_grade, nbgrader_as_root

pytestmark = [pytest.mark.hub, pytest.mark.xdist_group("hub")]
ASSIGNMENT = "dying_relu"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
OWN_WORK = "# ann's own work"  # in ann's answers only
FORGED = "FORGED-BY-BOB"  # in what bob puts in the exchange in her name


def fetched(user: str, assignment: str = ASSIGNMENT) -> Path:
    return Path(pwd.getpwnam(user).pw_dir) / assignment / f"{assignment}.ipynb"


def answer(user: str, cells: dict[str, str], assignment: str = ASSIGNMENT) -> None:
    """The student's work: their fetched notebook with these solution cells, saved as them."""
    path = fetched(user, assignment)
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in cells:
            cell.source = cells[grade_id]
    nbformat.write(nb, path)
    entry = pwd.getpwnam(user)
    os.chown(path, entry.pw_uid, entry.pw_gid)


def inbound(hub: Hub, student: str) -> list[Path]:
    return sorted((hub.exchange / COURSE / "inbound").glob(f"{student}+{ASSIGNMENT}+*"))


@pytest.fixture(scope="module")
def cycle(hub: Hub):
    """Release, fetch (tab and command line), work, submit (again, and late), collect, grade, feedback, export."""
    ann, bob, cat = hub.students[:3]
    nbgrader_as_root(hub, "generate_assignment", ASSIGNMENT, "--force")
    nbgrader_as_root(hub, "release_assignment", ASSIGNMENT, "--force")

    listed = hub.lab(ann).get("assignments", params={"course_id": COURSE}).json()
    hub.lab(ann).post("assignments/fetch", data={"course_id": COURSE, "assignment_id": ASSIGNMENT})
    for student in (bob, cat):
        as_user(student, f"nbgrader fetch_assignment {ASSIGNMENT} --course {COURSE}")

    first = next(iter(hub.solutions))
    answer(ann, {**hub.solutions, first: hub.solutions[first] + "\n" + OWN_WORK})
    answer(bob, {**hub.solutions, **hub.wrong})  # bob's plausible mistake ...
    as_user(bob, f"nbgrader submit {ASSIGNMENT} --course {COURSE}")
    time.sleep(1.1)
    answer(bob, hub.solutions)  # ... which he corrects and submits again: the second one counts
    as_user(bob, f"nbgrader submit {ASSIGNMENT} --course {COURSE}")
    submitted = hub.lab(ann).post("assignments/submit", data={"course_id": COURSE, "assignment_id": ASSIGNMENT}).json()

    # the due date falls between the on-time submissions and cat's (whole seconds: nbgrader's --duedate has no more)
    due = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=1)).replace(microsecond=0, tzinfo=None)
    nbgrader_as_root(hub, "db", "assignment", "add", ASSIGNMENT, f"--duedate={due:%Y-%m-%d %H:%M:%S} UTC")
    while datetime.datetime.now(datetime.UTC).replace(tzinfo=None) < due + datetime.timedelta(seconds=0.2):
        time.sleep(0.1)
    as_user(cat, f"nbgrader submit {ASSIGNMENT} --course {COURSE}")  # cat's untouched copy, after the due date
    cat_dir = inbound(hub, cat)[-1]
    # ... who then writes a time before the due date into her own submission's timestamp.txt
    as_user(cat, f"echo '2000-01-01 00:00:00.000000 UTC' > '{cat_dir}/timestamp.txt'")

    attempts = bob_attempts(hub, ann, bob)

    grading = collect_and_grade(hub, ASSIGNMENT)
    nbgrader_as_root(hub, "release_feedback", ASSIGNMENT)
    hub.lab(ann).post("assignments/fetch_feedback", data={"course_id": COURSE, "assignment_id": ASSIGNMENT})
    as_user(bob, f"nbgrader fetch_feedback {ASSIGNMENT} --course {COURSE}")
    attempts.update(feedback_attempts(hub, ann, bob))
    nbgrader_as_root(hub, "export")
    return {"listed": listed, "submitted": submitted, "due": due, "attempts": attempts, "grading": grading.stdout}


def bob_attempts(hub: Hub, ann: str, bob: str) -> dict[str, subprocess.CompletedProcess]:
    """What a second student tries against the first one's submission, knowing its exact path."""
    ann_dir = inbound(hub, ann)[-1]
    stamp = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
    bob_dir = inbound(hub, bob)[-1]
    return {
        # the control: what bob may do, so that a failing attempt below fails for want of permission alone
        "read his own submission": as_user(bob, f"cat '{bob_dir}/{NOTEBOOK}' > /dev/null", check=False),
        "list inbound": as_user(bob, f"ls '{ann_dir.parent}'", check=False),
        "list ann's submission": as_user(bob, f"ls '{ann_dir}'", check=False),
        "read ann's notebook": as_user(bob, f"cat '{ann_dir}/{NOTEBOOK}'", check=False),
        "read ann's secret": as_user(bob, f"cat '{ann_dir}/submission_secret.txt'", check=False),
        "change ann's notebook": as_user(bob, f"echo x >> '{ann_dir}/{NOTEBOOK}'", check=False),
        "add to ann's submission": as_user(bob, f"touch '{ann_dir}/extra.ipynb'", check=False),
        "rename ann's submission": as_user(
            bob, f"mv '{ann_dir}' '{ann_dir.parent}/{bob}+{ASSIGNMENT}+x+y'", check=False
        ),
        "remove ann's submission": as_user(bob, f"rm -rf '{ann_dir}'", check=False),
        "submit as ann": as_user(bob, f"nbgrader submit {ASSIGNMENT} --course {COURSE} --student {ann}", check=False),
        # a submission folder in ann's name, made by bob: collect must not take it as hers
        "forge ann's submission": as_user(
            bob,
            f"d='{ann_dir.parent}/{ann}+{ASSIGNMENT}+{stamp:%Y-%m-%d %H:%M:%S}.000000 UTC+forged' && mkdir \"$d\" && "
            f"sed 's/import/import  # {FORGED}/' '{fetched(bob)}' > \"$d/{NOTEBOOK}\"",
            check=False,
        ),
        # a newer "submission" of bob's that is a link to ann's folder, and one whose notebook links to hers
        "link to ann's submission": as_user(
            bob,
            f"ln -s '{ann_dir}' '{ann_dir.parent}/{bob}+{ASSIGNMENT}+{stamp:%Y-%m-%d %H:%M:%S}.000000 UTC+link'",
            check=False,
        ),
        "read the course directory": as_user(bob, f"ls '{hub.course_dir}'", check=False),
        "read the source notebooks": as_user(
            bob, f"cat '{hub.course_dir}/exercises/{ASSIGNMENT}/{NOTEBOOK}'", check=False
        ),
        "read the gradebook database": as_user(
            bob, f"psql '{hub.db_url_without_password}' -c 'select * from grade'", check=False
        ),
        "read root's nbgrader log": as_user(bob, f"cat '{hub.course_dir}/.nbgrader.log'", check=False),
    }


def feedback_attempts(hub: Hub, ann: str, bob: str) -> dict[str, subprocess.CompletedProcess]:
    released = sorted((hub.exchange / COURSE / "feedback").glob("*.html"))
    ann_uid = pwd.getpwnam(ann).pw_uid
    ann_feedback = [p for p in released if p.stat().st_uid == ann_uid]
    assert ann_feedback, f"no released feedback belongs to {ann}: {[(p.name, p.stat().st_uid) for p in released]}"
    return {
        "list released feedback": as_user(bob, f"ls '{released[0].parent}'", check=False),
        "read ann's released feedback": as_user(bob, f"cat '{ann_feedback[0]}'", check=False),
        "read ann's feedback in the course": as_user(
            bob, f"cat '{hub.course_dir}/feedback/{ann}/{ASSIGNMENT}/{ASSIGNMENT}.html'", check=False
        ),
        "read ann's fetched feedback": as_user(
            bob, f"ls '{pwd.getpwnam(ann).pw_dir}/{ASSIGNMENT}/feedback'", check=False
        ),
        "read the grades": as_user(bob, f"cat '{hub.course_dir}/grades.csv'", check=False),
        "read ann's graded notebook": as_user(
            bob, f"cat '{hub.course_dir}/autograded/{ann}/{ASSIGNMENT}/{NOTEBOOK}'", check=False
        ),
    }


def test_the_assignments_tab_lists_the_released_assignment(cycle):
    assert cycle["listed"]["success"], cycle["listed"]
    released = [a for a in cycle["listed"]["value"] if a["status"] == "released"]
    assert [(a["course_id"], a["assignment_id"]) for a in released] == [(COURSE, ASSIGNMENT)]


def test_every_student_fetched_and_submitted(hub, cycle):
    for student in hub.students[:3]:
        assert fetched(student).exists(), student
        assert inbound(hub, student), f"{student} has no submission in the exchange"
    assert cycle["submitted"]["success"], cycle["submitted"]  # ann's Submit through the Assignments tab's handler
    assert any(a["status"] == "submitted" for a in cycle["submitted"]["value"]), cycle["submitted"]


def test_a_second_student_can_neither_list_read_nor_change_the_first_ones_work(hub, cycle):
    attempts = dict(cycle["attempts"])
    control = attempts.pop("read his own submission")
    assert control.returncode == 0, f"bob cannot even read his own submission: {control.stderr}"
    allowed = {"forge ann's submission", "link to ann's submission"}  # bob may make entries; collect ignores them
    succeeded = [what for what, done in attempts.items() if done.returncode == 0 and what not in allowed]
    assert not succeeded, f"a second student could: {succeeded}"
    assert "password" in attempts["read the gradebook database"].stderr  # refused by PostgreSQL, not for want of psql
    ann_dir = inbound(hub, hub.students[0])[0]  # still there, still hers
    assert ann_dir.is_dir() and ann_dir.owner() == hub.students[0]


def test_submitting_in_another_students_name_is_refused_with_a_reason(cycle):
    refused = cycle["attempts"]["submit as ann"]
    assert refused.returncode != 0
    assert "only as yourself" in refused.stdout + refused.stderr


def test_collect_takes_each_students_own_latest_submission_and_nothing_forged(hub, cycle):
    ann, bob, cat = hub.students[:3]
    submitted = hub.course_dir / "submitted"
    assert {ann, bob, cat} <= {p.name for p in submitted.iterdir() if p.is_dir()}
    own = nbformat.read(fetched(bob), as_version=4)
    collected = nbformat.read(submitted / bob / ASSIGNMENT / NOTEBOOK, as_version=4)
    assert [c.source for c in collected.cells] == [c.source for c in own.cells]  # his second, corrected submission
    hers = (submitted / ann / ASSIGNMENT / NOTEBOOK).read_text()
    assert OWN_WORK in hers and FORGED not in hers, "ann's collected notebook is not her own submission"
    assert OWN_WORK not in (submitted / bob / ASSIGNMENT / NOTEBOOK).read_text(), (
        "bob's link to ann's work was collected"
    )


def test_the_submission_time_is_when_the_exchange_received_it(hub, cycle):
    cat = hub.students[2]
    text = (hub.course_dir / "submitted" / cat / ASSIGNMENT / "timestamp.txt").read_text()
    received = datetime.datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S.%f UTC")
    assert received > cycle["due"], f"cat's timestamp {text!r} is not after the due date {cycle['due']}"
    with hub.gradebook() as gb:
        late = gb.find_submission(ASSIGNMENT, cat)
        on_time = gb.find_submission(ASSIGNMENT, hub.students[0])
        assert late.total_seconds_late > 0 and on_time.total_seconds_late == 0


def test_grades_in_the_shared_postgresql_gradebook_and_in_grades_csv(hub, cycle):
    ann, bob, cat = hub.students[:3]
    with hub.gradebook() as gb:
        scores = {s: gb.find_submission(ASSIGNMENT, s).score for s in (ann, bob, cat)}
    # the solutions' full marks from the tests; the short answer they hold waits for a grader
    source = nbformat.read(ROOT / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    tests = autograded_points(source)
    assert scores == {ann: tests, bob: tests, cat: 0}, scores
    rows = {r["student_id"]: r for r in csv.DictReader((hub.course_dir / "grades.csv").open())}
    assert {s: float(rows[s]["raw_score"]) for s in (ann, bob, cat)} == scores


def test_each_student_fetched_their_own_feedback(hub, cycle):
    for student in hub.students[:2]:
        pages = list((Path(pwd.getpwnam(student).pw_dir) / ASSIGNMENT / "feedback").glob(f"*/{ASSIGNMENT}.html"))
        assert pages, f"{student} fetched no feedback"
        assert "BEGIN HIDDEN TESTS" not in pages[0].read_text()


def test_students_get_403_from_the_formgrader_and_its_reports_and_instructors_get_them(hub, cycle):
    student = hub.session(hub.students[1])
    reports = ("relucourse/reports/", f"relucourse/reports/.grading/{ASSIGNMENT}/class.html")
    for path in ("formgrader/", f"formgrader/api/submissions/{ASSIGNMENT}", "api/contents/exercises", *reports):
        answer = student.get(f"{hub.url}services/{COURSE}/{path}", allow_redirects=True)
        assert answer.status_code == 403, (path, answer.status_code, answer.url)
    instructor = hub.session(hub.instructor)
    page = instructor.get(f"{hub.url}services/{COURSE}/formgrader/")
    assert page.status_code == 200 and "Manage Assignments" in page.text
    assert "frame-ancestors 'self'" in page.headers.get("Content-Security-Policy", "")
    listed = instructor.get(f"{hub.url}services/{COURSE}/formgrader/api/submissions/{ASSIGNMENT}").json()
    assert set(hub.students[:3]) <= {s["student"] for s in listed}
    listing = instructor.get(f"{hub.url}services/{COURSE}/{reports[0]}")
    assert listing.status_code == 200 and "Class reports" in listing.text, (listing.status_code, listing.text[:500])


def test_every_server_of_the_hub_sends_the_content_security_policy(hub, cycle):
    """The hub's pages, a student's JupyterLab and the formgrader service: nothing to another site, no plugins."""
    pages = {
        "hub": hub.session(hub.students[0]).get(f"{hub.url}hub/home"),
        "student's server": hub.lab(hub.students[0]).get("lab"),
        "formgrader": hub.session(hub.instructor).get(f"{hub.url}services/{COURSE}/formgrader/"),
    }
    for where, page in pages.items():
        policy = page.headers.get("Content-Security-Policy", "")
        for rule in ("connect-src 'self'", "object-src 'none'", "frame-ancestors 'self'"):
            assert rule in policy, f"{where} ({page.url}): no {rule} in {policy!r}"


def test_nothing_in_the_course_directory_is_readable_by_a_student_but_the_packages(hub, cycle):
    """Every path in the course directory, tried by a student's account: only relucourse/ and classroom/ open."""
    paths = [str(p) for p in hub.course_dir.rglob("*") if not p.is_symlink()]
    probe = (
        "import os, sys\nfor p in sys.stdin.read().split('\\0'):\n"
        "    ok = os.access(p, os.R_OK) and (not os.path.isdir(p) or os.access(p, os.X_OK))\n"
        "    print(p) if ok and os.path.exists(p) else None\n"
    )
    readable = subprocess.run(
        ["runuser", "-u", hub.students[1], "--", sys.executable, "-c", probe],
        input="\0".join(paths),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    opened = [
        p for p in readable if p and Path(p).relative_to(hub.course_dir).parts[0] not in ("relucourse", "classroom")
    ]
    assert not opened, f"a student can read: {opened[:10]}"


# --- feedback on submit (classroom/autofeedback.py), switched on for ON_SUBMIT in the tests' hub (tests/conftest.py)

ON_SUBMIT = "relu_at_zero"
FEEDBACK_WITHIN_S = 240  # from Submit to the page in the student's Fetch Feedback, on a loaded machine


def feedback_pages(user: str) -> dict[str, Path]:
    """The student's fetched feedback of ON_SUBMIT: submission timestamp -> page."""
    folder = Path(pwd.getpwnam(user).pw_dir) / ON_SUBMIT / "feedback"
    return {p.parent.name: p for p in folder.glob(f"*/{ON_SUBMIT}.html")}


def until_feedback(user: str, fetch, count: int) -> float:
    """Fetch Feedback (`fetch()`) until the student has `count` pages; the seconds it took."""
    start = time.monotonic()
    while len(feedback_pages(user)) < count:
        assert time.monotonic() - start < FEEDBACK_WITHIN_S, f"{user}'s feedback {count} did not come"
        fetch()
        time.sleep(0.5)
    return time.monotonic() - start


@pytest.fixture(scope="module")
def on_submit(hub: Hub):
    """dee submits through the Assignments tab and Fetch Feedback gets her page; cat the same at a terminal; dee
    twice more (the hour allows two graded attempts); then the instructor's collect, make grade, release_feedback."""
    from classroom.autofeedback import Queue
    from grading.bench import reference_solutions

    dee, cat = hub.students[3], hub.students[2]
    nbgrader_as_root(hub, "generate_assignment", ON_SUBMIT, "--force")
    nbgrader_as_root(hub, "release_assignment", ON_SUBMIT, "--force")
    lab, form = hub.lab(dee), {"course_id": COURSE, "assignment_id": ON_SUBMIT}
    lab.post("assignments/fetch", data=form)
    solutions = reference_solutions(
        nbformat.read(hub.course_dir / "exercises" / ON_SUBMIT / f"{ON_SUBMIT}.ipynb", as_version=4)
    )
    answer(dee, solutions, ON_SUBMIT)
    start = time.monotonic()
    lab.post("assignments/submit", data=form)
    until_feedback(dee, lambda: lab.post("assignments/fetch_feedback", data=form), 1)
    seconds = time.monotonic() - start
    print(f"submit to feedback on the hub ({ON_SUBMIT}, the service's first grading): {seconds:.1f} s")

    as_user(cat, f"nbgrader fetch_assignment {ON_SUBMIT} --course {COURSE}")
    as_user(cat, f"nbgrader submit {ON_SUBMIT} --course {COURSE}")  # the untouched release
    until_feedback(cat, lambda: as_user(cat, f"nbgrader fetch_feedback {ON_SUBMIT} --course {COURSE}"), 1)

    forged = f"{dee}+{ON_SUBMIT}+2000-01-01 00:00:00.000000 UTC+forged"  # cat's folder in dee's name
    as_user(
        cat,
        f'd=\'{hub.exchange / COURSE / "inbound" / forged}\' && mkdir "$d" && cp ~/{ON_SUBMIT}/*.ipynb "$d" && '
        f"printf '%0128d' 0 > \"$d/submission_secret.txt\"",
    )
    for count in (2, 3):
        time.sleep(1.1)  # a timestamp of its own
        start = time.monotonic()
        lab.post("assignments/submit", data=form)
        until_feedback(dee, lambda: lab.post("assignments/fetch_feedback", data=form), count)
        if count == 2:
            print(f"submit to feedback on the hub ({ON_SUBMIT}, warm): {time.monotonic() - start:.1f} s")
    early = {when: page.read_text() for when, page in feedback_pages(dee).items()}

    released = sorted((hub.exchange / COURSE / "feedback").glob("*.html"))
    dee_uid, cat_uid = pwd.getpwnam(dee).pw_uid, pwd.getpwnam(cat).pw_uid
    attempts = {
        # the control: cat reads her own, so that the attempts below fail for want of permission alone
        "read her own released feedback": as_user(
            cat, f"cat '{next(p for p in released if p.stat().st_uid == cat_uid)}' > /dev/null", check=False
        ),
        "read dee's released feedback": as_user(
            cat, f"cat '{next(p for p in released if p.stat().st_uid == dee_uid)}'", check=False
        ),
        "list dee's fetched feedback": as_user(cat, f"ls '{Path(pwd.getpwnam(dee).pw_dir) / ON_SUBMIT}'", check=False),
        "list the service's files": as_user(cat, f"ls '{hub.base / 'state' / 'autofeedback'}'", check=False),
    }
    queued = {r.name: r for r in Queue(hub.base / "state" / "autofeedback" / "queue.sqlite", 2).rows()}
    with hub.gradebook() as gb:
        in_gradebook = [s.student.id for s in gb.assignment_submissions(ON_SUBMIT)]
    in_course = sorted(p.parent.name for p in (hub.course_dir / "submitted").glob(f"*/{ON_SUBMIT}"))

    collect_and_grade(hub, ON_SUBMIT)
    nbgrader_as_root(hub, "release_feedback", ON_SUBMIT)
    lab.post("assignments/fetch_feedback", data=form)
    with hub.gradebook() as gb:
        graded = {s.student.id: (s.score, s.max_score) for s in gb.assignment_submissions(ON_SUBMIT)}
    late = {when: page.read_text() for when, page in feedback_pages(dee).items()}
    return {
        "early": early,
        "late": late,
        "cat": next(iter(feedback_pages(cat).values())).read_text(),
        "attempts": attempts,
        "before make grade": (in_gradebook, in_course),
        "graded": graded,
        "queued": queued,
        "forged": forged,
    }


def test_feedback_on_submit_is_fetched_with_the_score_within_the_bound(hub, on_submit):
    from classroom.feedbackbench import score_of

    pages = [on_submit["early"][when] for when in sorted(on_submit["early"])]
    assert len(pages) == 3
    first, second, third = pages
    source = nbformat.read(ROOT / "exercises" / ON_SUBMIT / f"{ON_SUBMIT}.ipynb", as_version=4)
    score, total = score_of(first)
    assert score == autograded_points(source) > 0, "the reference solution is not given the tests' points on submit"
    assert total == score + sum(c.metadata.nbgrader["points"] for c in manual_answers(source)), (score, total)
    assert "graded attempt 1 of 2 this hour" in first and "graded attempt 2 of 2 this hour" in second
    assert score_of(on_submit["cat"])[0] == 0  # cat's untouched release
    assert "BEGIN HIDDEN TESTS" not in first


def test_feedback_on_submit_over_the_hourly_limit_says_when_the_next_graded_attempt_is(on_submit):
    from classroom.feedbackbench import score_of

    third = on_submit["early"][max(on_submit["early"])]
    assert "not graded" in third and "your 2 graded attempts of the hour" in third and "UTC on" in third
    with pytest.raises(ValueError):
        score_of(third)


def test_feedback_on_submit_is_the_students_alone(on_submit):
    attempts = dict(on_submit["attempts"])
    control = attempts.pop("read her own released feedback")
    assert control.returncode == 0, f"cat cannot even read her own feedback: {control.stderr}"
    succeeded = [what for what, done in attempts.items() if done.returncode == 0]
    assert not succeeded, f"a second student could: {succeeded}"


def test_feedback_on_submit_grades_no_folder_a_student_made_in_anothers_name(hub, on_submit):
    dee, cat = hub.students[3], hub.students[2]
    assert on_submit["forged"] not in on_submit["queued"], "the service took cat's folder for dee's submission"
    assert sorted(r.student for r in on_submit["queued"].values()) == sorted([dee, dee, dee, cat])


def test_feedback_on_submit_leaves_the_instructors_gradebook_and_make_grade_alone(hub, on_submit):
    from classroom.feedbackbench import score_of

    assert on_submit["before make grade"] == ([], []), "the service wrote into the course's gradebook or submitted/"
    dee, cat = hub.students[3], hub.students[2]
    (dee_score, total), (cat_score, _) = on_submit["graded"][dee], on_submit["graded"][cat]
    source = nbformat.read(ROOT / "exercises" / ON_SUBMIT / f"{ON_SUBMIT}.ipynb", as_version=4)
    assert dee_score == autograded_points(source) > 0 and cat_score == 0 and total > dee_score
    latest = on_submit["late"][max(on_submit["late"])]  # her third submission: the instructor's feedback now
    assert score_of(latest) == (dee_score, total) and "not graded" not in latest


def test_an_instructor_grades_a_short_answer_in_the_formgrader_service(hub, cycle):
    """The formgrader's manual path on the hub: the requests its page makes, through the formgrader service, as an
    instructor logged in to the hub: a manual score and a comment, then Generate Feedback (last: it adds points)."""
    ann = hub.students[0]
    source = nbformat.read(ROOT / "exercises" / ASSIGNMENT / NOTEBOOK, as_version=4)
    short_answer = manual_answers(source)[0].metadata.nbgrader["grade_id"]
    instructor = hub.session(hub.instructor)
    base = f"{hub.url}services/{COURSE}/formgrader/"
    assert instructor.get(base).status_code == 200  # sets the service's _xsrf cookie
    xsrf = next(c.value for c in instructor.cookies if c.name == "_xsrf" and c.path.startswith("/services/"))

    def api(method: str, path: str, **kwargs):
        answer = instructor.request(method, base + path, headers={"X-XSRFToken": xsrf}, timeout=120, **kwargs)
        assert answer.ok, (method, path, answer.status_code, answer.text[:500])
        return answer.json()

    (submission,) = [s for s in api("GET", f"api/submitted_notebooks/{ASSIGNMENT}/{ASSIGNMENT}") if s["student"] == ann]
    (grade,) = [
        g for g in api("GET", "api/grades", params={"submission_id": submission["id"]}) if g["name"] == short_answer
    ]
    assert grade["needs_manual_grade"] and grade["auto_score"] is None, grade
    (comment,) = [
        c for c in api("GET", "api/comments", params={"submission_id": submission["id"]}) if c["name"] == short_answer
    ]
    api("PUT", f"api/grade/{grade['id']}", data=json.dumps({"manual_score": 2}))
    api("PUT", f"api/comment/{comment['id']}", data=json.dumps({"manual_comment": "Graded on the hub."}))
    with hub.gradebook() as gb:
        assert gb.find_submission(ASSIGNMENT, ann).score == autograded_points(source) + 2
    assert api("POST", f"api/assignment/{ASSIGNMENT}/{ann}/generate_feedback").get("success")
    page = (hub.course_dir / "feedback" / ann / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert "Graded on the hub." in page and "BEGIN MARK SCHEME" not in page
