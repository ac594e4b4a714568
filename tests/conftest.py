"""Fixtures shared by the test modules.

`make test` runs the suite on one pytest-xdist worker per core (`--dist loadgroup`): every test that reads
the built book is sent to one worker, so the book is built once.
"""

import fcntl
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from course import build_book, copy_course, lessons, plant_leftovers


def pytest_configure(config: pytest.Config) -> None:
    """A marker per lesson of the table of contents, named as its file: a new lesson needs no marker of its own."""
    for lesson in lessons():
        title = next((line[2:] for line in lesson.read_text().splitlines() if line.startswith("# ")), lesson.stem)
        config.addinivalue_line(
            "markers", f"{lesson.stem}: the chapter '{title.strip()}', its tests and its assignment, if any"
        )


@dataclass
class BuiltCourse:
    path: Path  # a copy of the course, as a fresh clone would have it, after `make book`'s builder ran in it
    log: str  # what the first build printed
    leftovers: list[Path]  # notebooks planted in generated folders before the build, which the book must ignore


@pytest.fixture(scope="session")
def built_course(tmp_path_factory) -> BuiltCourse:
    """The course copied and its book built once, for every test module that reads the book."""
    course = copy_course(tmp_path_factory.mktemp("course"))
    leftovers = plant_leftovers(course)  # an instructor's checkout after `make grade` and `make lab`
    return BuiltCourse(course, build_book(course), leftovers)


@pytest.fixture
def one_torch_thread():
    """Tiny tensors: one thread is as fast, and a busy second core cannot stall torch's two-thread regions."""
    import torch  # here, so that the tests that need no torch do not import it

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests of the built book share one worker (and one build) when the suite runs in parallel."""
    for item in items:
        if "built_course" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("built_course"))


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    """Say where the browser tests left their screenshots (tests/test_browser.py), for a person to look at.

    The base temporary directory holds the built copies, in a worker's own folder when xdist runs the suite.
    """
    base = config._tmp_path_factory.getbasetemp()  # the same private handle xdist uses to give workers theirs
    for screenshots in sorted({path.resolve() for path in base.glob("**/course*/_build/screenshots")}):
        if any(screenshots.rglob("*.png")):
            terminalreporter.write_line(f"screenshots of the book and of JupyterLab: {screenshots}")


@pytest.fixture(scope="session")
def hub():
    """The course's JupyterHub (tests/hub.py) with an instructor and four students, feedback on submit for
    relu_at_zero; the hub tests share one worker."""
    from hub import Hub

    if os.geteuid() != 0:  # accounts, PAM and servers started as them: root only, as in CI
        (pytest.fail if os.environ.get("CI") else pytest.skip)(
            "the hub tests run as root (make test as root, as CI does)"
        )
    # the accounts and /etc/jupyter are the machine's: two clones' hub tests take turns
    with open("/run/lock/relucourse-hub-tests.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        running = Hub(
            students=["rct-ann", "rct-bob", "rct-cat", "rct-dee"],
            instructor="rct-prof",
            # feedback on submit (classroom/autofeedback.py) for one assignment, the one tests/test_hub.py's cycle is not
            settings='c.FeedbackOnSubmit.assignments = ["relu_at_zero"]\nc.FeedbackOnSubmit.attempts_per_hour = 2',
        )
        try:
            running.start()
            yield running
        finally:
            running.stop()
