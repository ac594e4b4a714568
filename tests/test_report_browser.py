"""The class report in Chromium, opened from disk and from the formgrader service, as an instructor opens it.

A class with planted mistakes (tests/planted.py) is graded and reported in a course whose book is built
(tests/conftest.py's copy); a Jupyter server with the formgrader service's own settings
(classroom/formgrader-config/, which enables classroom.reports) serves it. Each way, the page's figures
render, its links to the lessons reach the section they name, nothing logs an error, and the markup a
student left in an answer does not run.
"""

import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from course import ROOT
from planted import ASSIGNMENT, plant_class
from test_browser import chromium, free_port  # noqa: F401  (a fixture: Debian's Chromium through Playwright)

pytestmark = pytest.mark.browser

CHECK = """() => ({
  title: document.title,
  figures: [...document.querySelectorAll('figure svg')].map(svg => svg.getBoundingClientRect().height),
  links: [...document.querySelectorAll('a[href]')].map(a => a.href),
  diagnoses: document.querySelectorAll('.diagnosis').length,
})"""


@pytest.fixture(scope="module")
def course(built_course, tmp_path_factory) -> Path:
    """A course directory with the built book, graded and reported."""
    course = tmp_path_factory.mktemp("reported")
    shutil.copytree(built_course.path / "_build" / "html", course / "_build" / "html")
    plant_class(course)
    return course


@pytest.fixture(scope="module")
def service(course, tmp_path_factory):
    """A Jupyter server with the formgrader service's settings, rooted at the course; yields (url, token)."""
    home = tmp_path_factory.mktemp("service")
    token, port = secrets.token_hex(16), free_port()
    command = [
        sys.executable,
        "-m",
        "jupyter_server",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={course}",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    env = {
        **os.environ,
        "JUPYTER_CONFIG_PATH": str(ROOT / "classroom" / "formgrader-config"),
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
    }
    log = open(home / "server.log", "w")
    server = subprocess.Popen(command, cwd=course, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, f"the server stopped:\n{(home / 'server.log').read_text()[-3000:]}"
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                assert time.monotonic() < deadline, f"no answer:\n{(home / 'server.log').read_text()[-3000:]}"
                time.sleep(0.3)
        yield url, token
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _open(chromium, address: str) -> tuple[dict, list[str]]:  # noqa: F811
    """Open a report in a fresh page; return what CHECK sees, and every console error and failed request."""
    page = chromium.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: errors.append(f"{r.url}: {r.failure}"))
    response = page.goto(address)
    assert response is None or response.ok, f"{address}: {response.status}"
    found = page.evaluate(CHECK)
    page.close()
    return found, errors


def _check_lesson_links(chromium, links: list[str]) -> None:  # noqa: F811
    lessons = sorted({link for link in links if "/lessons/" in link})
    assert lessons, "the report links to no lesson"
    page = chromium.new_page()
    for link in lessons:
        response = page.goto(link)
        assert response is None or response.ok, f"{link} does not resolve"
        section = link.split("#", 1)[1]
        assert page.evaluate("id => Boolean(document.getElementById(id))", section), f"{link}: no section {section!r}"
    page.close()


def _check(found: dict, errors: list[str]) -> None:
    assert not errors, f"the report logged errors: {errors}"
    assert found["title"] != "owned", "a student's markup ran in the report"
    assert len(found["figures"]) >= 2 and all(h > 50 for h in found["figures"]), (
        f"figures did not render: {found['figures']}"
    )
    assert found["diagnoses"] >= 3


def test_the_report_opens_from_disk(chromium, course):  # noqa: F811
    found, errors = _open(chromium, (course / ".grading" / ASSIGNMENT / "class.html").as_uri())
    _check(found, errors)
    _check_lesson_links(chromium, found["links"])
    overview, errors = _open(chromium, (course / ".grading" / "class.html").as_uri())
    assert not errors and len(overview["figures"]) >= 1


def test_the_report_opens_from_the_formgrader_service_for_instructors_only(chromium, service):  # noqa: F811
    url, token = service
    try:  # no token, no report: a refusal, or the login page
        anonymous = urllib.request.urlopen(f"{url}/relucourse/reports/.grading/{ASSIGNMENT}/class.html", timeout=10)
        assert "/login" in anonymous.url and "misunderstood" not in anonymous.read().decode(), anonymous.url
    except urllib.error.HTTPError as refused:
        assert refused.code in (401, 403)
    index, errors = _open(chromium, f"{url}/relucourse/reports/?token={token}")
    assert not errors and any(link.endswith(f".grading/{ASSIGNMENT}/class.html") for link in index["links"])
    found, errors = _open(chromium, f"{url}/relucourse/reports/.grading/{ASSIGNMENT}/class.html")
    _check(found, errors)
    _check_lesson_links(chromium, found["links"])
    answer = urllib.request.urlopen(
        f"{url}/relucourse/reports/.grading/{ASSIGNMENT}/class.html?token={token}", timeout=10
    )
    assert (
        "script-src" not in answer.headers["Content-Security-Policy"]
        and "default-src 'none'" in answer.headers["Content-Security-Policy"]
    )
    with pytest.raises(urllib.error.HTTPError) as hidden:  # nothing else of the course directory
        urllib.request.urlopen(f"{url}/relucourse/reports/gradebook.db?token={token}", timeout=10)
    assert hidden.value.code == 404
