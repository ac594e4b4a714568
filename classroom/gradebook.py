"""The course's gradebook as nbgrader sees it from the course directory, and a roster put into it."""

from __future__ import annotations

from pathlib import Path

from nbgrader.api import Gradebook
from nbgrader.coursedir import CourseDirectory
from traitlets.config.loader import PyFileConfigLoader


class NotACourse(ValueError):
    """A folder without the course's nbgrader_config.py."""


def course_directory(course_dir: Path, db_url: str = "") -> CourseDirectory:
    """nbgrader's view of the course: its nbgrader_config.py at course_dir (the gradebook's URL, the course id);
    `db_url`, if given, names another gradebook (what `make hub DB_URL=…` passes on)."""
    if not (course_dir / "nbgrader_config.py").is_file():
        raise NotACourse(f"{course_dir}: no nbgrader_config.py: not a course directory (see --course-dir)")
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course_dir)).load_config()
    config.CourseDirectory.root = str(course_dir)
    if db_url:
        config.CourseDirectory.db_url = db_url
    return CourseDirectory(config=config)


def enroll(course_dir: Path, rows: list[dict], db_url: str = "") -> tuple[int, int, list[str]]:
    """Add or update each student (a row: id and nbgrader's other student fields; an empty field is left as it is).
    Returns how many were added, how many updated, and the gradebook's students that the rows lack."""
    course = course_directory(course_dir, db_url)
    with Gradebook(course.db_url, course_id=course.course_id) as gb:
        known = {s.id for s in gb.students}
        for row in rows:
            gb.update_or_create_student(row["id"], **{k: v for k, v in row.items() if k != "id" and v})
    listed = {row["id"] for row in rows}
    return len(listed - known), len(listed & known), sorted(known - listed)
