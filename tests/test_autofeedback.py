"""Feedback on submit (classroom/autofeedback.py): the queue across restarts and the hourly limit, the settings in
nbgrader_config.py, and the service grading a submission for Fetch Feedback with no hub (classroom/feedbackbench.py).
The same on a real hub, as real students, is in tests/test_hub.py."""

from __future__ import annotations

import datetime
import json
import shutil
import time

import nbformat
import pytest
from course import ROOT, autograded_points

from classroom.autofeedback import HOUR_S, MAX_TRIES, FeedbackConfigError, FeedbackOnSubmit, Queue
from grading.bench import reference_solutions

T = 1_800_000_000.0  # a received time, seconds since the epoch


def queue(tmp_path, limit=2) -> Queue:
    return Queue(tmp_path / "queue.sqlite", limit)


def test_a_submission_is_queued_once(tmp_path):
    q = queue(tmp_path)
    first = q.add("ann+a+t1+x", "ann", "a", T)
    assert first.state == "queued" and first.graded and first.tries == 0
    assert q.add("ann+a+t1+x", "ann", "a", T + 5) is None
    assert [r.name for r in q.rows()] == ["ann+a+t1+x"]


def test_the_hourly_limit_counts_each_students_graded_attempts_per_assignment(tmp_path):
    q = queue(tmp_path, limit=2)
    graded = [q.add(f"ann+a+{i}", "ann", "a", T + 60 * i).graded for i in range(3)]
    assert graded == [True, True, False]
    third = q.row("ann+a+2")
    assert q.next_graded(third) == T + HOUR_S  # when her first graded attempt leaves the hour
    assert q.add("bob+a+0", "bob", "a", T + 120).graded  # another student's hour is his own
    assert q.add("ann+b+0", "ann", "b", T + 120).graded  # and another assignment's
    assert not q.add("ann+a+3", "ann", "a", T + HOUR_S - 1).graded
    assert q.add("ann+a+4", "ann", "a", T + HOUR_S + 1).graded  # the first graded one is out of the hour
    assert q.attempt(q.row("ann+a+4")) == 2 and q.attempt(q.row("ann+a+1")) == 2


def test_a_batch_is_one_assignment_and_each_students_oldest_submission(tmp_path):
    q = queue(tmp_path, limit=5)
    q.add("ann+a+2", "ann", "a", T + 2)
    q.add("ann+a+1", "ann", "a", T + 1)
    q.add("bob+b+0", "bob", "b", T + 3)
    q.add("cat+a+0", "cat", "a", T + 4)
    batch = q.take()
    assert sorted(r.name for r in batch) == ["ann+a+1", "cat+a+0"]
    assert {r.state for r in batch} == {"grading"} and {r.tries for r in batch} == {1}
    assert [r.name for r in q.take()] == ["ann+a+2"]  # the ones taken are no longer queued
    assert [r.name for r in q.take()] == ["bob+b+0"]
    assert q.take() == []


def test_after_a_restart_an_interrupted_grading_is_retried_once_and_done_is_never_regraded(tmp_path):
    q = queue(tmp_path)
    q.add("ann+a+0", "ann", "a", T)
    q.add("bob+a+0", "bob", "a", T + 1)
    q.take()
    q.finish("bob+a+0", 3.0, 4.0)  # bob's released; the service dies while grading ann's
    q.close()
    for restart in range(1, MAX_TRIES + 1):
        q = queue(tmp_path)
        again, given_up = q.recover()
        if restart < MAX_TRIES:
            assert (again, given_up) == (["ann+a+0"], [])
            assert [r.name for r in q.take()] == ["ann+a+0"]  # graded again, and only hers
            q.close()
        else:
            assert (again, given_up) == ([], ["ann+a+0"])
    assert q.take() == []
    rows = {r.name: r for r in q.rows()}
    assert rows["ann+a+0"].state == "failed" and "interrupted" in rows["ann+a+0"].error
    assert (rows["bob+a+0"].state, rows["bob+a+0"].score, rows["bob+a+0"].tries) == ("done", 3.0, 1)


def test_the_settings_come_from_nbgrader_config_and_a_wrong_one_is_named(tmp_path):
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    (tmp_path / "exercises" / "dying_relu").mkdir(parents=True)
    assert FeedbackOnSubmit.of_course(tmp_path).assignments == []  # the course's own: off
    with open(tmp_path / "nbgrader_config.py", "a") as handle:
        handle.write('\nc.FeedbackOnSubmit.assignments = ["dying_relu"]\nc.FeedbackOnSubmit.attempts_per_hour = 5\n')
    settings = FeedbackOnSubmit.of_course(tmp_path)
    assert (settings.assignments, settings.attempts_per_hour) == (["dying_relu"], 5)
    with open(tmp_path / "nbgrader_config.py", "a") as handle:
        handle.write('c.FeedbackOnSubmit.assignments = ["dying_relu", "nonesuch"]\n')
    with pytest.raises(FeedbackConfigError, match="nonesuch"):
        FeedbackOnSubmit.of_course(tmp_path)


def test_the_hub_runs_the_service_only_when_an_assignment_has_it(tmp_path):
    from traitlets.config import Config

    from classroom.course import Course
    from classroom.hubconfig import feedback_on_submit

    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    (tmp_path / "exercises" / "dying_relu").mkdir(parents=True)
    course = Course(course_dir=str(tmp_path), python="/venv/bin/python", state_dir="/srv/hub")
    c = Config()
    c.JupyterHub.services = []
    feedback_on_submit(c, course)
    assert c.JupyterHub.services == []
    with open(tmp_path / "nbgrader_config.py", "a") as handle:
        handle.write('\nc.FeedbackOnSubmit.assignments = ["dying_relu"]\n')
    feedback_on_submit(c, course)
    (service,) = c.JupyterHub.services
    assert service["command"][-3:] == ["-m", "classroom.autofeedback", "/srv/hub/course.json"]
    assert "user" not in service  # root, as the hub: it reads owner-only submissions and hands feedback over


@pytest.fixture
def rehearsal(tmp_path):
    """A course with dying_relu released, the service running as make hub runs it, this account as the student."""
    from classroom.feedbackbench import Rehearsal

    running = Rehearsal(tmp_path, "dying_relu", attempts_per_hour=2)
    running.start()
    yield running
    running.stop()


def solutions() -> dict[str, str]:
    return reference_solutions(nbformat.read(ROOT / "exercises" / "dying_relu" / "dying_relu.ipynb", as_version=4))


def wrong() -> dict[str, str]:
    return json.loads((ROOT / "tests" / "fixtures" / "dying_relu" / "wrong.json").read_text())


def test_a_submission_is_graded_and_its_feedback_fetched_and_a_restart_regrades_nothing(rehearsal):
    from classroom.feedbackbench import score_of

    mistake = wrong()
    rehearsal.answer({**solutions(), **mistake["cells"]})
    page, seconds = rehearsal.fetch(rehearsal.submit(), timeout=240)
    score, total = score_of(page)
    assert score == pytest.approx(mistake["expected_score"]) and score < total
    assert "graded attempt 1 of 2 this hour" in page
    assert "BEGIN HIDDEN TESTS" not in page
    journal = rehearsal.state / "course" / ".grading" / "dying_relu" / "journal.jsonl"
    assert len(journal.read_text().splitlines()) == 1
    # the service dies after releasing and before recording it done: its restart releases it again, grading nothing
    rehearsal.stop()
    q = rehearsal.queue()
    (row,) = q.rows()
    assert row.state == "done" and row.score == pytest.approx(mistake["expected_score"])
    q.db.execute("UPDATE submission SET state = 'grading'")
    rehearsal.start()
    deadline = time.monotonic() + 120
    while q.row(row.name).state != "done":
        assert time.monotonic() < deadline, "the restarted service did not finish the submission"
        time.sleep(0.2)
    assert len(journal.read_text().splitlines()) == 1  # not graded twice
    assert q.row(row.name).tries == 2


def test_over_the_limit_the_feedback_says_so_and_when_the_next_graded_attempt_is(rehearsal):
    from classroom.feedbackbench import score_of

    rehearsal.answer(solutions())
    timestamps = []
    for _ in range(3):
        timestamps.append(rehearsal.submit())
        time.sleep(1.1)
    pages = [rehearsal.fetch(t, timeout=300)[0] for t in timestamps]
    full = autograded_points(nbformat.read(ROOT / "exercises" / "dying_relu" / "dying_relu.ipynb", as_version=4))
    assert [score_of(p)[0] for p in pages[:2]] == [full, full], "the reference solution lost autograded points"
    assert "answers graded by hand" in pages[0]
    assert "graded attempt 2 of 2 this hour" in pages[1]
    assert "not graded" in pages[2] and "2 graded attempts" in pages[2]
    with pytest.raises(ValueError):
        score_of(pages[2])
    first = next(r for r in rehearsal.queue().rows() if r.graded)
    when = datetime.datetime.fromtimestamp(first.received + HOUR_S, datetime.UTC).strftime("%H:%M UTC")
    assert f"from {when} on" in pages[2]


def test_when_the_grader_fails_the_student_is_told_and_the_service_goes_on(tmp_path, monkeypatch):
    import grading.driver
    from classroom.feedbackbench import Rehearsal

    def broken(*args, **kwargs):
        raise RuntimeError("the grader is broken")

    monkeypatch.setattr(grading.driver, "grade_assignment", broken)  # in the service's process too: it is forked
    rehearsal = Rehearsal(tmp_path, "dying_relu")
    rehearsal.start()
    try:
        page, _ = rehearsal.fetch(rehearsal.submit(), timeout=60)
        assert "could not grade it on submit" in page and "not lost" in page
        (row,) = rehearsal.queue().rows()
        assert row.state == "failed" and "the grader is broken" in row.error
        assert rehearsal.process.is_alive()
    finally:
        rehearsal.stop()
