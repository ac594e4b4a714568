"""The class on the hub in headless Chromium (Debian's, driven by Playwright): a student logs in, fetches and
submits in JupyterLab's Assignments tab; the instructor opens the Courses list, the formgrader service's
JupyterLab, and the graded submission in the formgrader panel, which must not be a blank frame.

Screenshots go to the pytest temporary folder (`hub-screenshots/`), for a person to look at.
"""

from __future__ import annotations

import pytest
from hub import COURSE, collect_and_grade, nbgrader_as_root
from test_browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = [pytest.mark.hub, pytest.mark.browser, pytest.mark.xdist_group("hub")]
ASSIGNMENT = "dying_relu"


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium chromium-driver (make test installs them)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory):
    return tmp_path_factory.mktemp("hub-screenshots")


def log_in(browser, hub, user: str):
    """A fresh browser context of `user`, logged in through the hub's form, on their JupyterLab."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(f"{hub.url}hub/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", hub.passwords[user])
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_url(f"**/user/{user}/lab**", timeout=120000)
    page.wait_for_selector("#jp-main-dock-panel", timeout=120000)
    return context, page


def open_menu(page, menu: str, item: str) -> None:
    page.click(f".lm-MenuBar-itemLabel:text-is('{menu}')")
    page.click(f".lm-Menu-itemLabel:text-is('{item}')")


def test_a_student_fetches_and_submits_in_the_assignments_tab(browser, hub, screenshots):
    nbgrader_as_root(hub, "generate_assignment", ASSIGNMENT, "--force")
    nbgrader_as_root(hub, "release_assignment", ASSIGNMENT, "--force")
    student = hub.students[3]
    context, page = log_in(browser, hub, student)
    open_menu(page, "Nbgrader", "Assignment List")
    released = page.locator("#released_assignments_list")
    released.locator("button:has-text('Fetch')").first.click(timeout=60000)
    fetched = page.locator("#fetched_assignments_list")
    fetched.locator(f"text={ASSIGNMENT}").first.wait_for(timeout=60000)
    fetched.locator("button:has-text('Submit')").first.click()
    page.locator("#submitted_assignments_list .list_item").first.wait_for(timeout=60000)
    page.screenshot(path=screenshots / "student-assignments.png")
    submitted = page.inner_text("#submitted_assignments_list")
    context.close()
    assert ASSIGNMENT in submitted, submitted
    inbound = list((hub.exchange / COURSE / "inbound").glob(f"{student}+{ASSIGNMENT}+*"))
    assert inbound and all(p.owner() == student and (p.stat().st_mode & 0o077) == 0 for p in inbound)


def test_the_instructor_opens_the_submission_in_the_formgrader(browser, hub, screenshots):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    student = hub.students[3]
    collect_and_grade(hub, ASSIGNMENT)

    context, page = log_in(browser, hub, hub.instructor)
    open_menu(page, "Nbgrader", "Course List")
    link = page.locator(f"#formgrader_list a:has-text('{COURSE}')")
    for _ in range(6):  # the list asks the hub for its services once; on a loaded machine, refresh as a person would
        try:
            link.wait_for(timeout=15000)
            break
        except PlaywrightTimeout:
            page.click("#refresh_formgrader_list")
    link.wait_for(timeout=15000)
    with context.expect_page() as opened:
        link.click()
    service = opened.value
    service.wait_for_url(f"**/services/{COURSE}/lab**", timeout=120000)
    frame_element = service.wait_for_selector("iframe[src*='formgrader']", timeout=120000)
    frame = frame_element.content_frame()
    frame.wait_for_selector("text=Manage Assignments", timeout=60000)  # not a blank frame
    frame.click("text=Manual Grading")
    frame.click(f"a:text-is('{ASSIGNMENT}')", timeout=30000)  # the assignment
    frame.click(f"a:text-is('{ASSIGNMENT}')", timeout=30000)  # its notebook
    # the row of this student (by the roster's name, which the formgrader hides until asked), opened in the frame
    row = frame.locator(f"a.name-shown:has-text('Student, {student.split('-')[-1].title()}')")
    row.wait_for(state="attached", timeout=30000)
    frame.goto(hub.url.rstrip("/") + row.get_attribute("href"))
    frame.wait_for_selector("text=Submission", timeout=60000)
    frame.wait_for_selector(".cell", timeout=60000)
    service.screenshot(path=screenshots / "formgrader-submission.png")
    text = frame.inner_text("body")
    context.close()
    assert f"/services/{COURSE}/formgrader/submissions/" in frame.url, frame.url
    assert "Assignment: a single ReLU" in text, f"the submission did not open in the formgrader:\n{text[:800]}"
