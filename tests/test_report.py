"""grading.report (`make report`): a class with planted mistakes comes out as one diagnosis per mistake.

A class of ten (tests/planted.py: three with the strict mask, two with .any for .all, one with both, one
measuring by finite differences and leaving markup in a comment, two right, one of them late, one whose notebook is cut in half) is graded by
`make grade` and reported by `make report`. The same class less its broken notebook, its answers run through the
test cells in-process (grading/inprocess.py), is the instructor page's sample: the same rows, without make grade.
"""

import csv
import io
from html.parser import HTMLParser

import nbformat
import pytest
from course import manual_answers
from planted import ASSIGNMENT, BROKEN, LATE, MARKUP, PLAN, assert_one_group_per_planted_mistake, plant_class

from grading.inprocess import PLANTED, ROOT, planted_diagnoses
from grading.report import NOT_ATTEMPTED, diagnosis_key, group_diagnoses, shown_message, write_misconceptions

# one worker: the module's graded class is made once
pytestmark = [pytest.mark.grading, pytest.mark.xdist_group("report")]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    return plant_class(tmp_path_factory.mktemp("class"))


def _rows(report) -> list[dict]:
    with open(report / "misconceptions.csv", newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == ["test", "message", "students", "student_ids"]
        return list(reader)


def sample_rows() -> list[dict]:
    """The instructor page's sample: PLANTED's answers through the test cells in-process, as misconceptions.csv."""
    written = io.StringIO()
    write_misconceptions(written, planted_diagnoses(ASSIGNMENT, PLANTED))
    written.seek(0)
    return list(csv.DictReader(written))


def test_one_group_per_planted_mistake_holding_exactly_its_students(report):
    rows = _rows(report)
    assert_one_group_per_planted_mistake(rows, PLAN)
    assert BROKEN not in {s for r in rows for s in r["student_ids"].split(";")}, (
        "a rejected submission (graded as the release) is no diagnosis"
    )


def test_the_sample_class_in_process_groups_as_the_graded_class():
    """The instructor page's sample, without make grade: the same groups, and the same rows as the graded report."""
    assert_one_group_per_planted_mistake(sample_rows(), PLANTED)


def test_the_sample_matches_make_report_on_the_same_answers(report):
    assert sample_rows() == _rows(report), "the in-process sample and make report disagree on the same answers"


def test_page_shows_counts_links_lateness_and_no_student_markup(report):
    page = (report / "class.html").read_text(encoding="utf-8")

    class Tags(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tags, self.links = [], []

        def handle_starttag(self, tag, attrs):
            self.tags.append(tag)
            if tag == "a":
                self.links.append(dict(attrs)["href"])

    parser = Tags()
    parser.feed(page)
    assert "script" not in parser.tags and "img" not in parser.tags and "iframe" not in parser.tags
    assert MARKUP not in page and "&lt;script&gt;" in page, "the student's markup must be shown escaped"
    assert parser.tags.count("svg") >= 2, "the score distribution and the per-test figure are inline SVG"
    assert not [link for link in parser.links if link.startswith(("http:", "https:", "//"))], "nothing from a CDN"
    assert any(link.endswith("lessons/relu_at_zero.html#dead-units") for link in parser.links)
    assert LATE in page.split('id="late"')[1], "the late submission is listed"
    assert "4 of 10" in page, "the strict mask (four students of ten) is counted"
    precheck = page.split('id="precheck"')[1].split('id="late"')[0]
    assert "rejected" in precheck and BROKEN in precheck, "the pre-check's rejection is shown"


def test_tasks_not_attempted_come_after_every_mistake_however_many_left_them():
    released = ("NotImplementedError:", "raise NotImplementedError()")
    failures = {
        "ann": {"test_a": released, "test_b": released},
        "bob": {"test_a": released, "test_b": ("AssertionError: the sign is flipped", "return -g")},
        "cat": {"test_a": released},
    }
    diagnoses = group_diagnoses(["test_a", "test_b"], failures)
    assert [(d.test, d.message, d.students) for d in diagnoses] == [
        ("test_b", "AssertionError: the sign is flipped", ["bob"]),
        ("test_a", NOT_ATTEMPTED, ["ann", "bob", "cat"]),
        ("test_b", NOT_ATTEMPTED, ["ann"]),
    ]
    assert [d.attempted for d in diagnoses] == [True, False, False]
    assert diagnoses[1].answers == ["raise NotImplementedError()"]  # examples differ: three students, one answer


def test_the_examples_of_a_diagnosis_are_different_answers():
    answers = {"ann": "return 0.5", "bob": "return 0.5", "cat": "return 1 / 2", "dan": "return 0.5"}
    failures = {s: {"test_a": ("AssertionError: expected 1", a)} for s, a in answers.items()}
    (diagnosis,) = group_diagnoses(["test_a"], failures)
    assert diagnosis.students == ["ann", "bob", "cat", "dan"]
    assert sorted(diagnosis.answers) == ["return 0.5", "return 1 / 2"]


def test_diagnosis_key_blanks_numbers_only():
    one = "relu'(0) with at_zero=1.0 = 0, expected 1: a strict mask (x > 0)"
    two = "relu'(0) with at_zero=0.375 = 0.5, expected 0.375: a strict mask (x > 0)"
    assert diagnosis_key(one) == diagnosis_key(two)
    assert diagnosis_key(one) != diagnosis_key("relu'(0) with at_zero=1.0 = 0, expected 1: a mask x >= 0")
    assert diagnosis_key("an object at 0x7f3a2c") == diagnosis_key("an object at 0x55d0e1")
    assert shown_message([one, "relu'(0) with at_zero=1.0 = 0, expected 1: a strict mask (x > 0)"]) == one
    assert shown_message([one, two]) == "relu'(0) with at_zero=… = …, expected …: a strict mask (x > 0)"


def test_the_overview_names_the_tests_that_do_not_discriminate(report):
    overview = (report.parent / "class.html").read_text(encoding="utf-8")
    flat = overview.split('id="flat"')[1]
    assert "test_forward" in flat and "everyone passes" in flat, "every answer passes test_forward"
    assert "test_backward_at_zero" not in flat, "test_backward_at_zero separates the class"
    assert overview.count("<svg") >= 1 and f'href="{ASSIGNMENT}/class.html"' in overview


def test_short_answers_are_no_tests_and_those_to_grade_are_listed(report):
    # every planted submission answers the short answer (the model answer) but the rejected one, graded as released
    short = {
        c.metadata.nbgrader["grade_id"]
        for path in (ROOT / "exercises" / ASSIGNMENT).glob("*.ipynb")
        for c in manual_answers(nbformat.read(path, as_version=4))
    }
    assert short, f"{ASSIGNMENT} has no short answer graded by hand"
    assert not short & {r["test"] for r in _rows(report)}, "a short answer waiting for its grader is no diagnosis"
    page = (report / "class.html").read_text(encoding="utf-8")
    waiting = page.split('id="manual"')[1].split('id="scores"')[0]
    answered = sorted(set(PLAN) - {BROKEN})
    assert f"{len(answered)} of {len(PLAN)}" in waiting and ", ".join(answered) in waiting, waiting
    tested = page.split('id="tests"')[1].split('id="precheck"')[0]
    assert not [grade_id for grade_id in short if grade_id in tested], "a short answer in the item analysis"
