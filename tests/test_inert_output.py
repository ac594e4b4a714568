"""Student output is inert on every page made from a submission: the feedback, the formgrader's view, JupyterLab.

One correct submission of dying_relu that also displays every kind of active content of the grading corpus
(grading_corpus.ACTIVE_OUTPUTS: script, event handler, javascript: URL, frame, SVG with script, JavaScript and
widget outputs, markdown with raw HTML) and legitimate outputs (a table, LaTeX, a matplotlib plot, text), graded
by `make grade`'s driver in a temporary course. Its pages are opened in headless Chromium as the student and the
instructor would: the feedback page served plainly (no header helps: the page itself must be inert), and the
formgrader's view and the autograded notebook in JupyterLab from a Jupyter server with the formgrader service's
settings (classroom/formgrader-config, the hub's Content-Security-Policy). A payload that ran would change the
page's title, write a cookie, or call the test's server.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
import threading
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import nbformat
import pytest
from course import formgrader_server, released_course, venv_env
from grading_corpus import ACTIVE_MARKER, ACTIVE_OUTPUTS, LEGITIMATE_OUTPUT, Context, active_cell, reference_solutions
from test_browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = [pytest.mark.grading, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT, STUDENT = "dying_relu", "mallory"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
JAVASCRIPT_URL = re.compile(r"\s*javascript:", re.IGNORECASE)


class _Tags(HTMLParser):
    """Where a page's markup runs or loads something: handlers, srcdoc, javascript: URLs and src; script bodies."""

    def __init__(self):
        super().__init__()
        self.live, self._open = [], None

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value and (name.startswith("on") or name in ("srcdoc", "src", "data") or JAVASCRIPT_URL.match(value)):
                self.live.append(f"<{tag} {name}={value!r}>")
        self._open = tag if tag in ("script", "style") else None

    def handle_data(self, data):
        if self._open:
            self.live.append(f"<{self._open}>{data}")


def active_content(html: str) -> list[str]:
    """What of a payload reached a page where a browser would run or load it; as text, or in a link, it is inert."""
    tags = _Tags()
    tags.feed(html)
    return [piece[:120] for piece in tags.live if ACTIVE_MARKER in piece]


class _Listener(BaseHTTPRequestHandler):
    heard: list = []

    def do_GET(self):
        self.heard.append(self.path)
        self.send_response(204)
        self.end_headers()

    do_POST = do_GET

    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="module")
def listener():
    """The server a payload calls: it must hear nothing."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Listener)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def course(tmp_path_factory, listener) -> Path:
    """A temporary course with one graded submission showing every active output and the legitimate ones."""
    course = released_course(tmp_path_factory.mktemp("inert"), ASSIGNMENT)
    source = nbformat.read(course / "exercises" / ASSIGNMENT / NOTEBOOK, as_version=4)
    release = nbformat.read(course / "release" / ASSIGNMENT / NOTEBOOK, as_version=4)
    ctx = Context(release, reference_solutions(source), course, listener.server_address[1])
    nb = ctx.notebook()
    nb.cells += [active_cell(kind, ctx) for kind in ACTIVE_OUTPUTS] + [nbformat.v4.new_code_cell(LEGITIMATE_OUTPUT)]
    (course / "submitted" / STUDENT / ASSIGNMENT).mkdir(parents=True)
    nbformat.write(nb, course / "submitted" / STUDENT / ASSIGNMENT / NOTEBOOK)
    graded = subprocess.run(
        [sys.executable, "-m", "grading", "grade", ASSIGNMENT, "--root", str(course), "--jobs", "1", "--no-progress"],
        cwd=ROOT,
        env=venv_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert graded.returncode == 0, graded.stderr[-3000:]
    return course


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: apt-get install chromium chromium-driver (make test installs them)"
        (pytest.fail if os.environ.get("CI") else pytest.skip)(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def server(course, tmp_path_factory):
    """JupyterLab and the formgrader in the course, with the formgrader service's settings; its URL and token."""
    with formgrader_server(course, tmp_path_factory.mktemp("jupyter")) as running:
        yield running


def visit(browser, url: str, *, ready: str = "body", settle_ms: int = 1500):
    """`url` in a fresh context; the page, its response, and what its console said."""
    _Listener.heard.clear()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    console = []
    page.on("console", lambda message: console.append(message.text))
    response = page.goto(url)
    page.wait_for_selector(ready, timeout=120000)
    page.wait_for_timeout(settle_ms)  # an onerror, an onload or a frame's script would have run by now
    return context, page, response, console


def assert_nothing_ran(context, page, listener, where: str) -> None:
    assert ACTIVE_MARKER not in page.title(), f"{where}: a payload set the title"
    assert not [c for c in context.cookies() if ACTIVE_MARKER in c["name"]], f"{where}: a payload wrote a cookie"
    assert not _Listener.heard, f"{where}: a payload called the test's server: {_Listener.heard}"
    live = page.evaluate(
        """marker => [...document.querySelectorAll('*')].flatMap(e => [...e.attributes]
        .filter(a => a.value.includes(marker) && (a.name.startsWith('on') || a.name === 'srcdoc' || a.name === 'src'
                                                  || /^\\s*javascript:/i.test(a.value)))
        .map(a => `<${e.tagName} ${a.name}>`))""",
        ACTIVE_MARKER,
    )
    assert not live, f"{where}: a payload's handler, frame or javascript: URL is live in the page: {live[:5]}"


def assert_legitimate_outputs_show(page, where: str) -> None:
    text = page.inner_text("body")
    assert "LEGIT-TEXT" in text, f"{where}: the printed text is missing"
    assert "w^2 + 1" in text or page.locator(".MathJax, mjx-container").count(), f"{where}: the LaTeX is missing"
    cell = page.locator("td", has_text="LEGIT-CELL")
    assert cell.count() == 1 and cell.is_visible(), f"{where}: the table is not shown as a table"
    plots = page.evaluate("""() => [...document.images].filter(i => i.src.startsWith('data:image/png')
        && i.complete && i.naturalWidth > 100).length""")
    assert plots >= 1, f"{where}: the matplotlib plot is not shown"


def test_the_feedback_page_carries_no_active_content(course):
    feedback = (course / "feedback" / STUDENT / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert not active_content(feedback), active_content(feedback)
    assert active_content(f'<img src=x onerror="{ACTIVE_MARKER}">'), "the check finds nothing: it tests nothing"


def test_the_feedback_page_runs_nothing_and_shows_the_legitimate_outputs(browser, course, listener):
    folder = course / "feedback" / STUDENT / ASSIGNMENT
    served = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(SimpleHTTPRequestHandler, directory=str(folder)))
    threading.Thread(target=served.serve_forever, daemon=True).start()
    try:
        context, page, _, _ = visit(browser, f"http://127.0.0.1:{served.server_address[1]}/{ASSIGNMENT}.html")
        assert_nothing_ran(context, page, listener, "feedback")
        assert_legitimate_outputs_show(page, "feedback")
        context.close()
    finally:
        served.shutdown()
        served.server_close()


def test_the_formgrader_view_runs_nothing_and_shows_the_legitimate_outputs(browser, course, server, listener):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="relucourse") as gb:
        submission = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, STUDENT).id
    url, token = server
    context, page, response, _ = visit(
        browser, f"{url}/formgrader/submissions/{submission}/?token={token}", ready="#notebook-container"
    )
    assert "connect-src 'self'" in response.headers["content-security-policy"]
    assert not active_content(page.content()), active_content(page.content())
    assert_nothing_ran(context, page, listener, "formgrader")
    assert_legitimate_outputs_show(page, "formgrader")
    context.close()


def test_jupyterlab_works_under_the_policy_and_opens_the_autograded_notebook_inert(browser, course, server, listener):
    url, token = server
    context, page, response, console = visit(
        browser,
        f"{url}/lab/tree/autograded/{STUDENT}/{ASSIGNMENT}/{NOTEBOOK}?token={token}",
        ready=".jp-Notebook .jp-OutputArea-output",
        settle_ms=3000,
    )
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'self'" in policy and "object-src 'none'" in policy, policy
    refused = [line for line in console if "Content Security Policy" in line]
    assert not refused, f"JupyterLab broke under the policy: {refused[:3]}"
    assert_nothing_ran(context, page, listener, "JupyterLab")
    context.close()


def test_the_course_markdown_renders_as_without_the_sanitizer():
    """Math, code and headings of every exercise reach the page as nbconvert renders them: nothing is escaped twice."""
    from nbconvert import HTMLExporter

    from grading.feedback import inert_html

    exporter = HTMLExporter()
    for path in sorted((ROOT / "exercises").glob("*/*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "markdown":
                rendered = exporter.markdown2html({"cell": cell}, cell.source)
                assert inert_html(rendered) == rendered, f"{path.name}: {cell.source[:80]!r}"
