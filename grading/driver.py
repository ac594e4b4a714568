"""``make grade``: every submission of an assignment pre-checked, autograded in parallel, merged, fed back, exported.

1. ``generate_assignment --force`` records the assignment in the course's gradebook (and rewrites
   ``release/<assignment>``), as before; a *template* scratch course gets the same, in its own SQLite file.
2. One worker per core (forked processes, so nbgrader is imported once; :mod:`grading.scheduler` keeps the
   pool). For each student a worker copies the template, runs the pre-check (:mod:`grading.precheck`) into
   it, and runs nbgrader's ``Autograde`` for that one student there; the kernel is sandboxed and guarded
   (``nbgrader_config.py``). A submission nbgrader still cannot grade is graded as the unchanged release,
   with the reason in its notes.
3. The driver merges each finished student into the course (:mod:`grading.merge`), then records them in
   the journal (:mod:`grading.journal`): a run stopped at any point is started again with the same command
   and grades only the rest. A tqdm bar counts the students.
4. Each student's feedback is queued on the same workers as soon as their grades are in (it fills the
   workers the last submissions leave idle). Then ``grades.csv`` (nbgrader's CSV export) and
   ``.grading/<assignment>/report.csv``: each student's score and what the pre-check and repair did.
"""

from __future__ import annotations

import copy
import csv
import fcntl
import logging
import os
import shutil
import sqlite3
import sys
import time
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from nbgrader.converters import Autograde, BaseConverter, GenerateAssignment, GenerateFeedback
from nbgrader.coursedir import CourseDirectory
from nbgrader.plugins import CsvExportPlugin
from tqdm.auto import tqdm
from traitlets.config import Config, PyFileConfigLoader

from grading.journal import Journal, tree_hash
from grading.merge import merge_grades, remove_tree, replace_tree
from grading.notes import add_notes, read_notes
from grading.precheck import precheck_submission
from grading.scheduler import Task, run_tasks

__all__ = ["Course", "Outcome", "grade_assignment", "students_of", "convert", "ConversionFailed"]

GRADING_PACKAGE = Path(__file__).resolve().parent


@dataclass
class Course:
    """A course directory (``nbgrader_config.py`` at its root) and one of its assignments."""

    root: Path
    assignment: str
    config: Config = field(default_factory=Config)

    @classmethod
    def load(cls, root: Path, assignment: str) -> Course:
        root = Path(root).resolve()
        if not (root / "nbgrader_config.py").is_file():
            raise ValueError(f"Invalid course root: {root} (no nbgrader_config.py there)")
        if not assignment or "/" in assignment or assignment.startswith("."):
            raise ValueError(f"Invalid assignment: {assignment!r} (expected a folder name in the source directory)")
        config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
        return cls(root, assignment, config)

    def coursedir(self, root: Path | None = None, **traits) -> CourseDirectory:
        config = copy.deepcopy(self.config)
        config.CourseDirectory.root = str(root or self.root)
        config.CourseDirectory.assignment_id = self.assignment
        for name, value in traits.items():
            setattr(config.CourseDirectory, name, value)
        return CourseDirectory(config=config)

    @property
    def db_url(self) -> str:
        return self.coursedir().db_url

    @property
    def course_id(self) -> str:
        return self.coursedir().course_id

    def folder(self, kind: str, student: str = ".") -> Path:
        """``<root>/<kind directory>/<student>/<assignment>``, kind one of source, release, submitted, autograded."""
        coursedir = self.coursedir()
        return Path(coursedir.format_path(getattr(coursedir, f"{kind}_directory"), student, self.assignment))

    @property
    def work(self) -> Path:
        return self.root / ".grading" / self.assignment


@dataclass
class Outcome:
    """How one student's submission went."""

    student: str
    key: str
    status: str  # graded | repaired | rejected | fallback | failed | skipped
    notes: list[str] = field(default_factory=list)
    score: float | None = None
    max_score: float | None = None
    seconds: float = 0.0
    error: str | None = None


def students_of(course: Course) -> list[str]:
    """Students with a folder ``submitted/<student>/<assignment>``."""
    coursedir = course.coursedir()
    submitted = Path(coursedir.root) / coursedir.submitted_directory
    return sorted(
        p.parent.name
        for p in submitted.glob(f"*/{course.assignment}")
        if p.is_dir() and not p.parent.name.startswith(".")
    )


def grade_assignment(
    root: Path,
    assignment: str,
    *,
    jobs: int | None = None,
    force: bool = False,
    progress: bool = True,
    feedback: bool = True,
) -> list[Outcome]:
    """Grade every submission of `assignment` in the course at `root`; see the module's docstring."""
    course = Course.load(root, assignment)
    bin_dir = os.path.dirname(sys.executable)  # nbgrader runs `alembic` by name when it creates a gradebook
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])
    jobs = jobs or len(os.sched_getaffinity(0))
    if jobs < 1:
        raise ValueError(f"Invalid jobs: {jobs} (expected at least 1)")
    students = students_of(course)
    if not students:
        raise ValueError(f"no submissions in {course.folder('submitted', '*')}")
    with _exclusive(course):
        return _grade(course, students, jobs, force, progress, feedback)


@contextmanager
def _exclusive(course: Course):
    """One run per assignment at a time: two would grade the same students into the same scratch folders."""
    course.work.mkdir(parents=True, exist_ok=True)
    with open(course.work / "lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ValueError(f"another run is grading {course.assignment} in {course.root}") from None
        yield


def _grade(
    course: Course, students: list[str], jobs: int, force: bool, progress: bool, feedback: bool
) -> list[Outcome]:
    _generate_assignment(course, course.root, course.db_url)
    journal = Journal(course.work / "journal.jsonl")
    base_key = tree_hash(
        course.folder("source"), course.root / "nbgrader_config.py", *sorted(GRADING_PACKAGE.glob("*.py"))
    )
    keys = {s: tree_hash(course.folder("submitted", s)) + base_key for s in students}
    done = journal.entries()
    with Gradebook(course.db_url, course_id=course.course_id) as gb:  # the journal counts only what the gradebook has
        graded = {submission.student.id for submission in gb.assignment_submissions(course.assignment)}
    todo = [s for s in students if force or done.get(s, {}).get("key") != keys[s] or s not in graded]
    outcomes = [
        Outcome(s, keys[s], "skipped", done[s].get("notes", []), done[s].get("score"), done[s].get("max_score"))
        for s in students
        if s not in todo
    ]
    stale = [o.student for o in outcomes if not _has_feedback(course, o.student)] if feedback else []
    if todo or stale:
        work = Work(course, _make_template(course) if todo else None, keys, feedback)
        outcomes += _grade_all(work, todo, stale, jobs, journal, progress)
    _export(course)
    _write_report(course, sorted(outcomes, key=lambda o: o.student))
    return sorted(outcomes, key=lambda o: o.student)


# --- the parent's steps ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Work:
    """What a worker needs to grade a student: the course, the template scratch course, each student's key."""

    course: Course
    template: Path | None
    keys: dict[str, str]
    feedback: bool  # write each graded student's feedback


def _grade_all(
    work: Work, students: list[str], stale: list[str], jobs: int, journal: Journal, progress: bool
) -> list[Outcome]:
    """Grade `students` and write the feedback of each (and of `stale`) on one scheduler's workers.

    A student's feedback is queued as soon as their grades are merged, so it fills the workers the
    last submissions leave idle. A submission still ungraded when the pools are spent is graded in a
    process of its own, so one that kills it fails alone; feedback that failed is written once more here.
    """
    course = work.course
    results = _Results(
        work,
        journal,
        set(stale),
        tqdm(total=len(students), desc=f"grading {course.assignment}", unit="submission", disable=not progress),
    )
    tasks = [Task(_grade_one, (work, s)) for s in students] + [Task(_feedback_one, (course, s)) for s in stale]
    log = course.work / "workers.log"
    for task in run_tasks(tasks, results.finished, jobs=jobs, log=log):
        if task.fn is _grade_one and task in run_tasks([task], results.finished, jobs=1, log=log, pools=1):
            student = task.args[1]
            error = "the grading process died on this submission (out of memory?)"
            results.finished(task, Outcome(student, work.keys[student], "failed", [], error=error))
    results.bar.close()
    for student in sorted(results.unfed):
        error = _feedback_one(course, student)
        if error:
            tqdm.write(error)
    return results.outcomes


@dataclass
class _Results:
    """What the driver does with each finished task: a grade merged, journalled, counted and its feedback
    queued; a feedback written or left for another try."""

    work: Work
    journal: Journal
    unfed: set[str]  # students whose feedback is still to write
    bar: tqdm
    outcomes: list[Outcome] = field(default_factory=list)

    def finished(self, task: Task, result) -> list[Task]:
        if task.fn is _feedback_one:
            if result is None:
                self.unfed.discard(task.args[1])
            return []
        outcome: Outcome = result
        _merge(self.work.course, outcome, self.journal)
        self.outcomes.append(outcome)
        self.bar.update()
        self.bar.set_postfix_str(
            f"{outcome.student}: {outcome.score:g}/{outcome.max_score:g}"
            if outcome.score is not None
            else f"{outcome.student}: {outcome.status}"
        )
        if outcome.status == "failed" or not self.work.feedback:
            return []
        self.unfed.add(outcome.student)
        return [Task(_feedback_one, (self.work.course, outcome.student))]


def _merge(course: Course, outcome: Outcome, journal: Journal) -> None:
    scratch = course.work / "scratch" / outcome.student
    if outcome.status != "failed":
        replace_tree(
            scratch / "autograded" / outcome.student / course.assignment, course.folder("autograded", outcome.student)
        )
        outcome.score, outcome.max_score = merge_grades(
            f"sqlite:///{scratch / 'gradebook.db'}", course.db_url, course.course_id, course.assignment, outcome.student
        )
        journal.record(
            {
                "student": outcome.student,
                "key": outcome.key,
                "status": outcome.status,
                "score": outcome.score,
                "max_score": outcome.max_score,
                "notes": outcome.notes,
                "seconds": round(outcome.seconds, 1),
            }
        )
    remove_tree(scratch)


def _generate_assignment(course: Course, root: Path, db_url: str) -> None:
    log = logging.getLogger("grading.generate_assignment")
    if not log.handlers:
        log.addHandler(logging.StreamHandler())
        log.setLevel(logging.ERROR)
    try:
        convert(course, GenerateAssignment, log, root=root, db_url=db_url)
    except ConversionFailed as error:
        raise ValueError(f"{error} (its log is above)") from error.__cause__


def _make_template(course: Course) -> Path:
    """A scratch course with the assignment's source and a gradebook holding the assignment but no submissions.

    From a SQLite course gradebook: a copy, emptied of students and submissions (fast). Otherwise
    (PostgreSQL): ``generate_assignment`` into a new SQLite file, with the course's due date.
    """
    template = course.work / "template"
    remove_tree(template)
    source = course.folder("source")
    shutil.copytree(source, template / source.relative_to(course.root))
    db = template / "gradebook.db"
    prefix = "sqlite:///"
    if course.db_url.startswith(prefix) and Path(course.db_url[len(prefix) :]).is_file():
        try:
            with (
                closing(sqlite3.connect(course.db_url[len(prefix) :])) as original,
                closing(sqlite3.connect(db)) as copied,
            ):
                original.backup(copied)
                for table in ("comment", "grade", "submitted_notebook", "submitted_assignment", "student"):
                    copied.execute(f"DELETE FROM {table}")  # nbgrader's tables of graded work
                copied.commit()
            return template
        except sqlite3.Error:  # another schema: build it the slow way
            db.unlink(missing_ok=True)
    _generate_assignment(course, template, f"{prefix}{db}")
    with Gradebook(course.db_url, course_id=course.course_id) as gb:
        duedate = gb.find_assignment(course.assignment).duedate
    with Gradebook(f"{prefix}{db}", course_id=course.course_id) as gb:
        gb.update_or_create_assignment(course.assignment, duedate=duedate)
    return template


def _has_feedback(course: Course, student: str) -> bool:
    coursedir = course.coursedir()
    folder = Path(coursedir.format_path(coursedir.feedback_directory, student, course.assignment))
    return folder.is_dir() and any(folder.glob("*.html"))


def _export(course: Course) -> None:
    plugin = CsvExportPlugin(config=course.config)
    plugin.to = str(course.root / "grades.csv")
    with Gradebook(course.db_url, course_id=course.course_id) as gb:
        plugin.export(gb)


def _write_report(course: Course, outcomes: list[Outcome]) -> None:
    course.work.mkdir(parents=True, exist_ok=True)
    with open(course.work / "report.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "score", "max_score", "status", "seconds", "notes"])
        for o in outcomes:
            writer.writerow([o.student, o.score, o.max_score, o.status, round(o.seconds, 1), " | ".join(o.notes)])


# --- the workers' steps ---------------------------------------------------------------------------


def _grade_one(work: Work, student: str) -> Outcome:
    """Pre-check and autograde one student in a scratch copy of the template; never raises."""
    course, template, key = work.course, work.template, work.keys[student]
    start = time.monotonic()
    scratch = course.work / "scratch" / student
    try:
        remove_tree(scratch)
        shutil.copytree(template, scratch)
        scratch_dir = course.coursedir(scratch)
        dest = Path(scratch_dir.format_path(scratch_dir.submitted_directory, student, course.assignment))
        check = precheck_submission(course.folder("submitted", student), course.folder("release"), dest)
        error = _autograde(course, scratch, student)
        status = "rejected" if check.rejected else "graded"
        if error:
            _submit_release(course, dest, f"nbgrader could not grade it ({error})")
            status, error = "fallback", _autograde(course, scratch, student)
        notes = list(dict.fromkeys(check.notes + _notes_of(course, scratch, student)))
        if status == "graded" and notes:
            status = "repaired"
        return Outcome(
            student, key, "failed" if error else status, notes, seconds=time.monotonic() - start, error=error
        )
    except Exception as error:  # the grader's own failure: recorded, the batch goes on
        return Outcome(student, key, "failed", [], seconds=time.monotonic() - start, error=repr(error))


def _autograde(course: Course, scratch: Path, student: str) -> str | None:
    """nbgrader's Autograde for one student in `scratch`; None, or the error it logged."""
    log = logging.getLogger("grading.autograde")
    try:
        with _logging_to(scratch / "autograde.log", log, logging.getLogger("traitlets")):  # converter, preprocessors
            convert(
                course, Autograde, log, root=scratch, db_url=f"sqlite:///{scratch / 'gradebook.db'}", student_id=student
            )
    except ConversionFailed as error:
        lines = (scratch / "autograde.log").read_text(errors="replace").splitlines()
        reason = next((l for l in reversed(lines) if "Error" in l and "There was an error" not in l), str(error))
        return reason.strip()[:300]
    return None


@contextmanager
def _logging_to(path: Path, *loggers: logging.Logger):
    """`loggers` write only to the file `path` (INFO and up) while the block runs, then as before.

    Left attached, the handler would reopen `path` once the scratch course is gone, and the worker's
    next converter (a feedback) would fail on its first log line."""
    handler = logging.FileHandler(path)
    saved = [(logger, logger.handlers, logger.propagate, logger.level) for logger in loggers]
    for logger in loggers:
        logger.handlers, logger.propagate, logger.level = [handler], False, logging.INFO
    try:
        yield
    finally:
        for logger, handlers, propagate, level in saved:
            logger.handlers, logger.propagate, logger.level = handlers, propagate, level
        handler.close()


def _submit_release(course: Course, dest: Path, reason: str) -> None:
    """Replace the submission in `dest` by the released notebooks, noting why."""
    remove_tree(dest)
    dest.mkdir(parents=True)
    for path in sorted(course.folder("release").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        add_notes(nb, [f"{path.name}: {reason}; it was graded as the unchanged assignment."])
        nbformat.write(nb, dest / path.name)


def _notes_of(course: Course, scratch: Path, student: str) -> list[str]:
    scratch_dir = course.coursedir(scratch)
    folder = Path(scratch_dir.format_path(scratch_dir.autograded_directory, student, course.assignment))
    notes = []
    for path in sorted(folder.glob("*.ipynb")):
        notes += [note for note in read_notes(nbformat.read(path, as_version=4)) if note not in notes]
    return notes


def _feedback_one(course: Course, student: str) -> str | None:
    try:
        convert(course, GenerateFeedback, student_id=student)
    except ConversionFailed as error:
        return f"feedback for {student} failed: {error.__cause__!r}"
    return None


# --- nbgrader's converters ------------------------------------------------------------------------


class ConversionFailed(RuntimeError):
    """An nbgrader converter (generate_assignment, autograde, generate_feedback) failed; its error is the cause."""


def convert(course: Course, converter: type[BaseConverter], log: logging.Logger | None = None, **traits) -> None:
    """Run nbgrader's `converter` over `course` (``root``, ``db_url``, ``student_id``…: `traits` of its
    CourseDirectory), overwriting what it wrote before; any error it raises becomes a `ConversionFailed`."""
    coursedir = course.coursedir(**traits)
    app = converter(coursedir=coursedir, config=coursedir.config, **({"log": log} if log else {}))
    app.force = True
    try:
        app.start()
    except Exception as error:  # NbGraderException, or what a preprocessor raised
        raise ConversionFailed(f"nbgrader {converter.__name__} of {course.assignment} failed: {error}") from error
