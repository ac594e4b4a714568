"""The checkers of every assignment: they name the mistakes learners make, and nothing talks them into points.

Each assignment's plausible wrong answers (tests/fixtures/<assignment>/mistakes.yml, from the lessons'
misconceptions) go through its test cells in this process (grading/inprocess.py): exactly the tests the mistake
breaks fail, each naming that mistake; the key misconceptions fail a test the learner can see; the same
mistake gets the same message whatever else the answer gets wrong, and whatever random state the kernel has; answers that claim to equal anything,
to be true or to be any number (tests/hostile.py) earn no test at all.
"""

import re

import pytest
import torch
from answers import graded_cells
from course import assignments
from hostile import PREAMBLE, hostile_answers

from grading.inprocess import ROOT, mistakes, run_tests

pytestmark = pytest.mark.grading

MISTAKES = [(a, m["name"]) for a in assignments() for m in mistakes(a)]
# The misconceptions the course is about, each caught by a test the learner runs before submitting.
KEY_MISTAKES = {
    ("dying_relu", "sum over the batch"): "batches larger than one",
    ("convergence", "sum, not mean"): "more than one point",
    ("dying_relu", "lr = 1 jumps"): "lr = 1",
    ("convergence", "nan counts as converged"): "a run that diverges to nan",
    ("leaky_relu", "max of x and alpha x"): "alpha > 1",
}


def _mistake(assignment: str, name: str) -> dict:
    return next(m for m in mistakes(assignment) if m["name"] == name)


@pytest.mark.parametrize("assignment", assignments())
def test_reference_passes_every_test_and_five_mistakes_are_written_down(assignment):
    failing = {test: message for test, message in run_tests(assignment).items() if message}
    assert not failing, f"the reference solution of {assignment} fails {failing}"
    assert len(mistakes(assignment)) >= 5, f"tests/fixtures/{assignment}/mistakes.yml has fewer than 5 mistakes"


@pytest.mark.parametrize("assignment,name", MISTAKES, ids=[f"{a}:{n}" for a, n in MISTAKES])
def test_mistake_loses_points_and_is_named(assignment, name):
    mistake = _mistake(assignment, name)
    assert mistake["fails"], f"{assignment}: {name} lists no test it fails"
    results = run_tests(assignment, mistake["cells"])
    failing = {test: message for test, message in results.items() if message}
    assert set(failing) == set(mistake["fails"]), (
        f"{assignment}: {name!r} should fail exactly {sorted(mistake['fails'])}; it fails {failing}"
    )
    for test, words in mistake["fails"].items():
        assert words in failing[test], (
            f"{assignment}: {name!r} fails {test} with {failing[test]!r}, not naming {words!r}"
        )
    if mistake.get("visible"):
        visible = run_tests(assignment, mistake["cells"], visible_only=True)
        assert any(visible[test] for test in mistake["fails"]), (
            f"{assignment}: {name!r} is marked visible, but the tests the learner sees pass it"
        )


@pytest.mark.parametrize("key", sorted(KEY_MISTAKES), ids=[KEY_MISTAKES[k] for k in sorted(KEY_MISTAKES)])
def test_key_misconception_is_written_down_and_visible(key):
    assignment, name = key
    assert _mistake(assignment, name).get("visible"), (
        f"{assignment}: {name!r} ({KEY_MISTAKES[key]}) must be caught by a visible test"
    )


@pytest.mark.parametrize("assignment", assignments())
def test_the_same_mistake_gets_the_same_message_whatever_else_is_wrong(assignment):
    # Each mistake beside another one in other cells: the tests it fails alone say the same thing.
    written = mistakes(assignment)
    for mistake in written:
        other = next((m for m in written if not set(m["cells"]) & set(mistake["cells"])), None)
        if other is None:
            continue
        alone = run_tests(assignment, mistake["cells"])
        together = run_tests(assignment, {**mistake["cells"], **other["cells"]})
        for test in set(mistake["fails"]) - set(other["fails"]):
            assert together[test] == alone[test], (
                f"{assignment}: {mistake['name']!r} fails {test} with {alone[test]!r} alone but with "
                f"{together[test]!r} beside {other['name']!r}"
            )


@pytest.mark.parametrize("assignment", assignments())
def test_the_same_mistake_gets_the_same_message_whatever_random_state_the_kernel_has(assignment):
    # a grading kernel's random state depends on what the notebook ran before: a checker must not
    for mistake in mistakes(assignment):
        told = []
        for seed in range(20):  # a few percent of states gave the .any mistake another unit to name
            torch.manual_seed(seed)
            told.append(run_tests(assignment, mistake["cells"]))
        changed = {test: {t[test] for t in told} for test in told[0] if len({t[test] for t in told}) > 1}
        assert not changed, (
            f"{assignment}: {mistake['name']!r} is told different things from other random states: {changed}"
        )


@pytest.mark.parametrize("kind", ["object", "tensor", "methods"])
@pytest.mark.parametrize("assignment", assignments())
def test_answers_that_claim_anything_earn_nothing(assignment, kind):
    results = run_tests(assignment, hostile_answers(assignment, kind), preamble=PREAMBLE)
    assert set(results) == set(graded_cells(assignment))
    passed = [test for test, message in results.items() if message is None]
    assert not passed, f"{assignment}: answers returning a {kind} that claims anything pass {passed}"


@pytest.mark.parametrize("assignment", assignments())
def test_every_test_names_a_lesson_section_to_reteach(assignment):
    # make report links each test to this section; Sphinx gives a section the id make_id(its title)
    from docutils.nodes import make_id

    for meta, reteach in graded_cells(assignment, "reteach"):
        page, _, section = (reteach or "").partition("#")
        lesson = ROOT / f"{page}.md"
        assert lesson.is_file() and page.startswith("lessons/"), f"{assignment}: {meta} names no lesson ({reteach!r})"
        titles = re.findall(r"^#{1,4} (.+)$", lesson.read_text(), re.M)
        assert section in {make_id(t.replace("$", "")) for t in titles}, f"{lesson.name} has no section {section!r}"
