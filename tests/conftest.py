"""Fixtures shared by the test modules."""

from dataclasses import dataclass
from pathlib import Path

import pytest

from course import build_book, copy_course

_BUILT: list[Path] = []


@dataclass
class BuiltCourse:
    path: Path  # a copy of the course, as a fresh clone would have it, after `make book`'s builder ran in it
    log: str  # what the first build printed


@pytest.fixture(scope="session")
def built_course(tmp_path_factory) -> BuiltCourse:
    """The course copied and its book built once, for every test module that reads the book."""
    course = copy_course(tmp_path_factory.mktemp("course"))
    _BUILT.append(course)
    return BuiltCourse(course, build_book(course))


def pytest_terminal_summary(terminalreporter) -> None:
    """Say where the browser tests left their screenshots (tests/test_browser.py), for a person to look at."""
    for course in _BUILT:
        screenshots = course / "_build" / "screenshots"
        if screenshots.is_dir() and any(screenshots.rglob("*.png")):
            terminalreporter.write_line(f"screenshots of the book and of JupyterLab: {screenshots}")
