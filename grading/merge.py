"""One student's results, graded in a scratch course, moved into the course: gradebook rows and files.

Each parallel worker grades into its own scratch SQLite gradebook, so workers never contend for the
course's gradebook (SQLite allows one writer at a time; nbgrader opens it with a 5 s lock timeout and
gives up). The driver then copies each student's results over, one student at a time, through
nbgrader's :class:`~nbgrader.api.Gradebook` API, which works the same whether the course's gradebook
is SQLite or PostgreSQL. Scores are *set*, never added, and the rule for manual grades is nbgrader's:
a grade an instructor has already set by hand is kept and the cell is flagged for review.
"""

from __future__ import annotations

import os
import shutil
import stat
import warnings
from pathlib import Path

from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning

__all__ = ["merge_grades", "remove_tree", "replace_tree"]


def merge_grades(scratch_db: str, course_db: str, course_id: str, assignment: str, student: str) -> tuple[float, float]:
    """Copy `student`'s submission of `assignment` from `scratch_db` to `course_db`; return (score, max_score)."""
    with warnings.catch_warnings():  # nbgrader's own autoflush warnings when it creates a submission
        warnings.simplefilter("ignore", SAWarning)
        return _merge(scratch_db, course_db, course_id, assignment, student)


def _merge(scratch_db: str, course_db: str, course_id: str, assignment: str, student: str) -> tuple[float, float]:
    with Gradebook(scratch_db) as scratch, Gradebook(course_db, course_id=course_id) as course:
        graded = scratch.find_submission(assignment, student)
        course.update_or_create_student(student)
        if graded.timestamp is not None:
            submission = course.update_or_create_submission(assignment, student, timestamp=graded.timestamp)
        else:
            submission = course.update_or_create_submission(assignment, student)
        for notebook in graded.notebooks:
            target = course.find_submission_notebook(notebook.name, assignment, student)
            target.late_submission_penalty = notebook.late_submission_penalty
            for grade in notebook.grades:
                row = course.find_grade(grade.name, notebook.name, assignment, student)
                row.auto_score = grade.auto_score
                row.needs_manual_grade = row.manual_score is not None or grade.auto_score is None
            for comment in notebook.comments:
                course.find_comment(
                    comment.name, notebook.name, assignment, student
                ).auto_comment = comment.auto_comment
        course.db.commit()
        return float(submission.score), float(submission.max_score)


def replace_tree(source: Path, dest: Path) -> None:
    """Make `dest` a copy of `source`: copied beside it first, then swapped in, so a crash leaves one or the other."""
    staging = dest.with_name(dest.name + ".incoming")
    remove_tree(staging)
    shutil.copytree(source, staging)
    remove_tree(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staging, dest)


def remove_tree(path: Path) -> None:
    """rmtree that also removes nbgrader's read-only (444) files."""

    def writable(function, name, _):
        os.chmod(os.path.dirname(name), stat.S_IRWXU)
        os.chmod(name, stat.S_IRWXU)
        function(name)

    if path.exists():
        shutil.rmtree(path, onerror=writable)
