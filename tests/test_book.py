"""`make book`'s builder on a copy of the course: every page, executed figures, student-only exercises, a cache that knows the package."""

import csv
import html
import re

import pytest
from course import ROOT, assignments, build_book, copy_course, solution_lines, toc_files
from planted import assert_one_group_per_planted_mistake

from grading.inprocess import PLANTED

pytestmark = pytest.mark.book


def executed(log: str) -> set[str]:
    """The lessons the build ran rather than took from the cache, as lessons/<name>.md."""
    return set(re.findall(r"(lessons/[^/\s]+\.md): Executed notebook", log))


@pytest.fixture(scope="module")
def course(built_course):
    """The course's copy, built once for the whole session (tests/conftest.py), and the first build's log."""
    return built_course.path, built_course.log


def test_every_page_of_the_toc_is_built(course):
    course, _ = course
    missing = [name for name in toc_files() if not (course / "_build/html" / f"{name}.html").exists()]
    assert not missing, f"pages listed in _toc.yml but not built: {missing}"


def test_the_book_ignores_what_grading_and_jupyterlab_leave_behind(built_course):
    """Notebooks in .grading/, submitted/, autograded/, ... were there at build time: no page, no warning (which fails the build)."""
    course = built_course.path
    assert built_course.leftovers, "no leftovers were planted"
    pages = [
        p
        for p in built_course.leftovers
        if (course / "_build/html" / p.relative_to(course)).with_suffix(".html").exists()
    ]
    assert not pages, f"the book made pages of generated files: {pages}"
    assert "leftover" not in built_course.log, f"the build read a generated folder:\n{built_course.log[-2000:]}"


def test_lessons_are_executed_with_their_figures(course):
    course, log = course
    for name in (n for n in toc_files() if n.startswith("lessons/")):
        page = (course / "_build/html" / f"{name}.html").read_text()
        images = re.findall(r'<img[^>]+src="([^"]+\.png)"', page)
        assert images, f"{name}: no executed figure in the page"
        for src in images:
            assert (course / "_build/html" / name).parent.joinpath(src).resolve().exists(), (
                f"{name}: missing image {src}"
            )
        assert "Traceback" not in page, f"{name}: an error output is shown in the page"


@pytest.mark.parametrize("assignment", assignments())
def test_exercise_pages_show_the_student_copy_only(course, assignment):
    course, _ = course
    for source in (ROOT / "exercises" / assignment).glob("*.ipynb"):
        page = course / "_build/html/release" / assignment / f"{source.stem}.html"
        assert page.exists(), f"no book page for {assignment}/{source.name}"
        text = page.read_text()
        assert "NotImplementedError" in text, f"{page.name}: the learner's answer cells are missing"
        leaked = [line for line in solution_lines(source) if line in text]
        assert not leaked, f"{page.name} shows solution or hidden-test code: {leaked[:3]}"


def test_a_second_build_reuses_the_cache(course):
    course, first = course
    lessons = {f"{n}.md" for n in toc_files() if n.startswith("lessons/")}
    assert executed(first) == lessons, f"the first build executed {executed(first)}, expected {lessons}"
    assert not executed(build_book(course)), "an unchanged course was executed again"


def test_a_package_change_reruns_the_lessons_that_import_it(tmp_path):
    """On a one-lesson book (to keep it short): a change to relucourse/ re-executes the lesson, a second build not."""
    course = copy_course(tmp_path)
    lesson = "lessons/relu_at_zero"  # the quickest lesson, and one that links to no other page
    (course / "_toc.yml").write_text(
        f"format: jb-book\nroot: book/intro\nchapters:\n  - file: {lesson}\n  - file: book/references\n"
    )
    (course / "book/intro.md").write_text("# A one-lesson book\n")
    assert executed(build_book(course)) == {f"{lesson}.md"}
    with open(course / "relucourse/landscape.py", "a") as source:
        source.write("\n# a change to the package\n")
    assert executed(build_book(course)) == {f"{lesson}.md"}, "a package change did not re-execute the lesson"
    assert not executed(build_book(course)), "the lesson was executed again with nothing changed"


def test_predict_then_run_answers_are_folded_with_their_numbers(course):
    """Each answer is a <details> element the browser folds: no kernel needed, its glued numbers and maths rendered."""
    course, _ = course
    for name in (n for n in toc_files() if n.startswith("lessons/")):
        page = (course / "_build/html" / f"{name}.html").read_text()
        answers = re.findall(r'<details class="predict"><summary>Answer</summary>(.*?)</details>', page, re.DOTALL)
        assert 2 <= len(answers) <= 4, f"{name}: {len(answers)} folded answers in the page"
        for answer in answers:
            assert "<p>" in answer, (
                f"{name}: an answer is not rendered as a paragraph inside its <details>: {answer[:200]}"
            )
            assert "{glue:" not in answer and "{doc}" not in answer, f"{name}: a role left unresolved: {answer[:200]}"


def test_the_instructor_page_shows_the_sample_report_as_executed(course):
    """The sample of misconceptions.csv is a cell's output, one row per planted mistake with exactly its students."""
    course, _ = course
    page = (course / "_build/html/book/instructor.html").read_text()
    outputs = re.findall(
        r'<div class="cell tag_remove-input docutils container">\s*<div class="cell_output docutils container">'
        r".*?<pre>(.*?)</pre>",
        page,
        re.DOTALL,
    )  # an executed cell whose input is removed: its output follows the cell's opening at once
    samples = [o for o in outputs if "test,message,students,student_ids" in o]
    assert len(samples) == 1, f"the instructor page shows {len(samples)} executed samples of misconceptions.csv"
    text = html.unescape(re.sub(r"<[^>]+>", "", samples[0]))
    assert_one_group_per_planted_mistake(list(csv.DictReader(text.strip().splitlines())), PLANTED)
