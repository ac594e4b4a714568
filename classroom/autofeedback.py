"""Feedback on submit: each submission graded as the exchange receives it, its feedback released for Fetch Feedback.

Switched on per assignment in the course's ``nbgrader_config.py`` (:class:`FeedbackOnSubmit`); ``make hub`` then
runs this module as a hub service, as root (it reads the owner-only submissions and hands each feedback file to its
student, as ``nbgrader release_feedback`` does there). :class:`Service` watches the exchange's ``inbound/`` and for
each new submission of a switched-on assignment:

1. checks it as ``nbgrader collect`` does (``classroom.exchange.ReceivedCollect``: a folder of its student's own,
   a student of the roster) once the submit has finished writing it (its secret written, nothing changed for
   :data:`SETTLE_S`), and queues it (:class:`Queue`, SQLite in the service's state folder);
2. copies it (``ReceivedCollect.do_copy``) into the service's own course, ``<state>/course/submitted/``, and grades
   it there with ``make grade``'s path (``grading.driver.grade_assignment``: pre-check, sandboxed guarded kernels,
   feedback), into the service's own SQLite gradebook: the instructor's gradebook, ``submitted/``, ``feedback/`` and
   ``make grade`` are never touched;
3. releases the feedback with ``classroom.exchange.PrivateReleaseFeedback`` (nbgrader's layout: ``feedback/
   <notebook_hash(secret, notebook)>.html``, the student's alone), a line at its top saying which graded attempt
   of the hour it was.

A student's submissions beyond ``attempts_per_hour`` (counted per assignment, over the hour before each one was
received) are not graded: their feedback page says so, and when the next graded attempt is possible. The queue
survives a restart: a submission is ``queued``, ``grading``, then ``done``; one found ``grading`` after a restart
is graded again, once (:data:`MAX_TRIES`); ``make grade``'s journal in the service's course keeps a student whose
grades were already in from being graded twice, and a release replaces the file atomically.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import fcntl
import html
import logging
import os
import shutil
import sqlite3
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from traitlets import Float, Integer, List, Unicode
from traitlets.config import Config, Configurable, PyFileConfigLoader

__all__ = ["FeedbackOnSubmit", "Queue", "Row", "Service", "FeedbackConfigError"]

HOUR_S = 3600.0
MAX_TRIES = 2  # a submission whose grading a restart interrupted is graded once more, then given up
SETTLE_S = 1.0  # a submission untouched this long after its secret was written is complete
SECRET = "submission_secret.txt"
# appended to the service's copy of nbgrader_config.py: whatever gradebook the course names, the service grades in its own
OWN_GRADEBOOK = 'c.CourseDirectory.db_url = "sqlite:///{}"  # feedback on submit: the service\'s own gradebook'
BANNER = "feedback-on-submit"  # the id of the line at the top of a page the service released
log = logging.getLogger("classroom.autofeedback")


class FeedbackConfigError(ValueError):
    """A FeedbackOnSubmit setting the course cannot use; the message names it."""


class FeedbackOnSubmit(Configurable):
    """The course's settings, in nbgrader_config.py: ``c.FeedbackOnSubmit.assignments = ["dying_relu"]``."""

    assignments = List(Unicode(), help="assignments graded as soon as they are submitted (none: no service)").tag(
        config=True
    )
    attempts_per_hour = Integer(3, help="graded submissions per student and assignment in any hour").tag(config=True)
    poll_s = Float(1.0, help="seconds between two looks at the exchange's inbound folder").tag(config=True)

    @classmethod
    def of_course(cls, course_dir: Path) -> FeedbackOnSubmit:
        """The settings in the course's nbgrader_config.py, checked against its assignments."""
        if not (Path(course_dir) / "nbgrader_config.py").is_file():
            raise FeedbackConfigError(f"{course_dir}: no nbgrader_config.py: not a course directory")
        config = PyFileConfigLoader("nbgrader_config.py", path=str(course_dir)).load_config()
        settings = cls(config=config)
        source = Path(course_dir) / config.CourseDirectory.get("source_directory", "source")
        missing = [a for a in settings.assignments if not (source / a).is_dir()]
        if missing:
            raise FeedbackConfigError(
                f"c.FeedbackOnSubmit.assignments names {', '.join(missing)}: no such folder in {source}"
            )
        if settings.attempts_per_hour < 1:
            raise FeedbackConfigError(
                f"c.FeedbackOnSubmit.attempts_per_hour = {settings.attempts_per_hour}: expected at least 1"
            )
        return settings


# --- the queue ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    name: str  # the inbound folder's name: <student>+<assignment>+<timestamp>+<random>
    student: str
    assignment: str
    received: float  # when the exchange received it (seconds since the epoch)
    graded: bool  # within the student's hourly limit
    state: str  # queued | grading | done | failed
    tries: int
    score: float | None = None
    max_score: float | None = None
    error: str | None = None


SCHEMA = """
CREATE TABLE IF NOT EXISTS submission (
    name TEXT PRIMARY KEY, student TEXT NOT NULL, assignment TEXT NOT NULL, received REAL NOT NULL,
    graded INTEGER NOT NULL, state TEXT NOT NULL DEFAULT 'queued', tries INTEGER NOT NULL DEFAULT 0,
    score REAL, max_score REAL, error TEXT
)"""


class Queue:
    """The submissions the service has seen, in SQLite: each committed before the next step acts on it."""

    def __init__(self, path: Path, attempts_per_hour: int):
        self.path, self.limit = Path(path), attempts_per_hour
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(SCHEMA)

    def close(self) -> None:
        self.db.close()

    @contextlib.contextmanager
    def _transaction(self):
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def _rows(self, where: str, *args) -> list[Row]:
        cursor = self.db.execute(
            f"SELECT name, student, assignment, received, graded, state, tries, score, max_score, error "
            f"FROM submission WHERE {where} ORDER BY received, name",
            args,
        )
        return [Row(*r[:4], bool(r[4]), *r[5:]) for r in cursor]

    def known(self, name: str) -> bool:
        return self.db.execute("SELECT 1 FROM submission WHERE name = ?", (name,)).fetchone() is not None

    def add(self, name: str, student: str, assignment: str, received: float) -> Row | None:
        """Queue a submission (None if it is queued already); graded if the student's hour has room for it."""
        with self._transaction():
            if self.known(name):
                return None
            used = len(self._graded_in_hour(student, assignment, received))
            self.db.execute(
                "INSERT INTO submission (name, student, assignment, received, graded) VALUES (?, ?, ?, ?, ?)",
                (name, student, assignment, received, int(used < self.limit)),
            )
        return self.row(name)

    def _graded_in_hour(self, student: str, assignment: str, received: float) -> list[Row]:
        return self._rows(
            "student = ? AND assignment = ? AND graded = 1 AND received > ? AND received <= ?",
            student,
            assignment,
            received - HOUR_S,
            received,
        )

    def attempt(self, row: Row) -> int:
        """Which graded attempt of its hour `row` is (1, 2, …)."""
        return len(self._graded_in_hour(row.student, row.assignment, row.received))

    def next_graded(self, row: Row) -> float:
        """When the student's next graded attempt is possible, seen from `row` (over the limit)."""
        graded = self._graded_in_hour(row.student, row.assignment, row.received)
        return graded[len(graded) - self.limit].received + HOUR_S

    def row(self, name: str) -> Row:
        return self._rows("name = ?", name)[0]

    def rows(self) -> list[Row]:
        return self._rows("1")

    def recover(self) -> tuple[list[str], list[str]]:
        """After a restart: submissions left in 'grading' go back to the queue, or fail once tried MAX_TRIES times."""
        with self._transaction():
            left = self._rows("state = 'grading'")
            again = [r.name for r in left if r.tries < MAX_TRIES]
            given_up = [r.name for r in left if r.tries >= MAX_TRIES]
            self.db.executemany("UPDATE submission SET state = 'queued' WHERE name = ?", [(n,) for n in again])
            self.db.executemany(
                "UPDATE submission SET state = 'failed', error = ? WHERE name = ?",
                [(f"grading was interrupted {MAX_TRIES} times", n) for n in given_up],
            )
        return again, given_up

    def take(self) -> list[Row]:
        """The next batch, marked 'grading': the oldest queued submission's assignment, each student's oldest one."""
        with self._transaction():
            queued = self._rows("state = 'queued'")
            if not queued:
                return []
            batch: dict[str, Row] = {}
            for row in queued:
                if row.assignment == queued[0].assignment and row.graded == queued[0].graded:
                    batch.setdefault(row.student, row)
            self.db.executemany(
                "UPDATE submission SET state = 'grading', tries = tries + 1 WHERE name = ?",
                [(r.name,) for r in batch.values()],
            )
        return [self.row(r.name) for r in batch.values()]

    def finish(self, name: str, score: float | None = None, max_score: float | None = None) -> None:
        self.db.execute(
            "UPDATE submission SET state = 'done', score = ?, max_score = ? WHERE name = ?", (score, max_score, name)
        )

    def fail(self, name: str, error: str) -> None:
        self.db.execute("UPDATE submission SET state = 'failed', error = ? WHERE name = ?", (error, name))


# --- the service --------------------------------------------------------------------------------------------------


def _when(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%H:%M UTC")


@dataclass
class Service:
    """The service for the course at `course_dir`, the exchange at `exchange`, its own files in `state`."""

    course_dir: Path
    exchange: Path
    state: Path
    settings: FeedbackOnSubmit
    roster: frozenset[str] = frozenset()  # empty: anyone with an account (collect's rule without a gradebook roster)
    jobs: int | None = None

    def __post_init__(self):
        from grading.driver import Course

        self.course_dir, self.exchange, self.state = Path(self.course_dir), Path(self.exchange), Path(self.state)
        self.course_id = Course.load(self.course_dir, self.settings.assignments[0]).course_id
        self.root = self.state / "course"  # the service's course: its own submitted/, gradebook, feedback/
        self.notices = self.state / "notices"  # the pages of submissions not graded (the limit, a failure)
        self.ignored: set[str] = set()  # entries of inbound/ that collect would not take either
        self.queue = Queue(self.state / "queue.sqlite", self.settings.attempts_per_hour)
        self.inbound = self.exchange / self.course_id / "inbound"

    def _config(self, root: Path, assignment: str, student: str = "") -> Config:
        from grading.driver import Course

        config = Course.load(self.course_dir, assignment).config
        config.CourseDirectory.root = str(root)
        config.CourseDirectory.assignment_id = assignment
        config.CourseDirectory.student_id = student
        config.CourseDirectory.db_url = f"sqlite:///{self.root / 'gradebook.db'}"  # never the instructor's
        config.Exchange.root = str(self.exchange)
        return config

    def _exchange(self, kind, root: Path, assignment: str, student: str = ""):
        from nbgrader.auth import Authenticator
        from nbgrader.coursedir import CourseDirectory

        config = self._config(root, assignment, student)
        return kind(coursedir=CourseDirectory(config=config), authenticator=Authenticator(config=config), config=config)

    def scan(self) -> list[Row]:
        """Queue the new, complete submissions of the switched-on assignments in inbound/, oldest first."""
        from classroom.exchange import ReceivedCollect, received_time

        found = []
        for assignment in self.settings.assignments:
            collect = self._exchange(ReceivedCollect, self.root, assignment)
            for path in self.inbound.glob(f"*+{assignment}+*"):
                if path.name in self.ignored or self.queue.known(path.name) or not self._complete(path):
                    continue
                record = collect._record(str(path), set(self.roster))  # logs why it is not the student's own
                if record is None:
                    self.ignored.add(path.name)
                else:
                    received = received_time(str(path)).replace(tzinfo=datetime.UTC).timestamp()
                    found.append((received, path.name, record["username"], assignment))
        added = []
        for received, name, student, assignment in sorted(found):
            row = self.queue.add(name, student, assignment, received)
            if row is not None:
                log.info("queued %s (%s)", row.name, "graded" if row.graded else "over the hourly limit")
                added.append(row)
        return added

    @staticmethod
    def _complete(path: Path) -> bool:
        """The submit has finished: its secret is written and nothing in it changed for SETTLE_S."""
        from classroom.exchange import received_time

        with contextlib.suppress(OSError):
            if path.is_dir() and not path.is_symlink() and len((path / SECRET).read_text().strip()) >= 64:
                newest = received_time(str(path)).replace(tzinfo=datetime.UTC).timestamp()
                return time.time() - newest >= SETTLE_S
        return False

    def step(self) -> list[Row]:
        """Grade and release the next batch; returns its rows as they ended."""
        batch = self.queue.take()
        if not batch:
            return []
        try:
            if batch[0].graded:
                self._grade(batch)
            else:
                for row in batch:
                    self._over_limit(row)
        except Exception as error:  # the grader's own failure: said to the students, the service goes on
            log.exception("feedback on submit failed for %s", [r.name for r in batch])
            for row in batch:
                if self.queue.row(row.name).state == "grading":
                    self._failed(row, repr(error))
        return [self.queue.row(r.name) for r in batch]

    def _grade(self, batch: list[Row]) -> None:
        from classroom.exchange import PrivateReleaseFeedback, ReceivedCollect
        from grading.driver import Course, grade_assignment
        from grading.merge import remove_tree, replace_tree

        assignment = batch[0].assignment
        course = Course.load(self.course_dir, assignment)
        self.root.mkdir(parents=True, exist_ok=True)
        config = (self.course_dir / "nbgrader_config.py").read_text()
        (self.root / "nbgrader_config.py").write_text(f"{config}\n{OWN_GRADEBOOK.format(self.root / 'gradebook.db')}\n")
        source = course.folder("source")
        replace_tree(source, self.root / source.relative_to(self.course_dir))  # the instructor's latest tests
        collect = self._exchange(ReceivedCollect, self.root, assignment)
        mine = Course(self.root, assignment, self._config(self.root, assignment))
        for earlier in self.root.glob(str(mine.folder("submitted", "*").relative_to(self.root))):  # all are graded
            remove_tree(earlier)
        for row in batch:
            collect.do_copy(str(self.inbound / row.name), str(mine.folder("submitted", row.student)))
        outcomes = {
            o.student: o
            for o in grade_assignment(
                self.root, assignment, jobs=self.jobs or min(len(batch), os.cpu_count() or 1), progress=False
            )
        }
        for row in batch:
            outcome = outcomes[row.student]
            if outcome.status == "failed":
                self._failed(row, outcome.error or "the grader failed")
                continue
            self._stamp(mine, row, f"Graded when you submitted it: graded attempt {self.queue.attempt(row)} of "
                        f"{self.settings.attempts_per_hour} this hour. Your instructor grades your final submission "
                        "after the due date, the answers graded by hand included (they count 0 here); this score "
                        "is not yet in the gradebook.")  # fmt: skip
            self._exchange(PrivateReleaseFeedback, self.root, assignment, row.student).start()
            self.queue.finish(row.name, outcome.score, outcome.max_score)
            log.info("released feedback for %s: %s/%s", row.name, outcome.score, outcome.max_score)

    def _stamp(self, course, row: Row, line: str) -> None:
        """Put `line` at the top of each feedback page of the student's submission."""
        folder = Path(
            course.coursedir().format_path(course.coursedir().feedback_directory, row.student, row.assignment)
        )
        banner = f'<div class="alert alert-info" id="{BANNER}"><p>{html.escape(line)}</p></div>'
        for page in folder.glob("*.html"):
            text = page.read_text()
            if f'id="{BANNER}"' in text:  # stamped before a restart: the same submission
                continue
            start = text.find(">", text.find("<body")) + 1
            page.write_text(text[:start] + banner + text[start:])

    def _over_limit(self, row: Row) -> None:
        """A submission over the limit: its page says it is not graded, and when the next graded attempt is."""
        limit, when = self.settings.attempts_per_hour, _when(self.queue.next_graded(row))
        self._notice(
            row,
            f"This submission was received but not graded: you have had your {limit} graded attempts of the hour "
            f"at {row.assignment}. Your next submission is graded from {when} on. Your instructor still grades "
            "your final submission after the due date.",
        )
        self.queue.finish(row.name)
        log.info("released the limit's notice for %s (next graded attempt %s)", row.name, when)

    def _failed(self, row: Row, error: str) -> None:
        """The grader's own failure: recorded, and the student told that their instructor grades it."""
        try:
            self._notice(
                row,
                "This submission was received, but the course's grader could not grade it on submit. "
                "It is not lost: your instructor grades your final submission after the due date.",
            )
        except Exception:
            log.exception("no notice released for %s", row.name)
        finally:
            self.queue.fail(row.name, error[:500])

    def _notice(self, row: Row, text: str) -> None:
        """Release a page saying `text` as the feedback of each notebook of the submission."""
        from classroom.exchange import PrivateReleaseFeedback
        from grading.driver import Course
        from grading.merge import remove_tree

        course = Course(self.notices, row.assignment, self._config(self.notices, row.assignment))
        folder = Path(
            course.coursedir().format_path(course.coursedir().feedback_directory, row.student, row.assignment)
        )
        remove_tree(folder)
        folder.mkdir(parents=True)
        submitted = self.inbound / row.name
        shutil.copy(submitted / SECRET, folder / SECRET)
        (folder / "timestamp.txt").write_text(
            datetime.datetime.fromtimestamp(row.received, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
        )
        for notebook in sorted(submitted.glob("*.ipynb")):
            (folder / f"{notebook.stem}.html").write_text(
                f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(notebook.stem)}</title></head>"
                f'<body><div class="alert alert-warning" id="{BANNER}"><p>{html.escape(text)}</p></div>'
                "</body></html>"
            )
        self._exchange(PrivateReleaseFeedback, self.notices, row.assignment, row.student).start()

    def run(self, stop=lambda: False) -> None:
        """Recover the queue, then scan and grade until `stop()`."""
        again, given_up = self.queue.recover()
        for name in again:
            log.info("graded again after a restart: %s", name)
        for name in given_up:
            log.warning("not graded: %s (its grading was interrupted %d times)", name, MAX_TRIES)
        while not stop():
            self.scan()
            if not self.step():
                time.sleep(self.settings.poll_s)


@contextlib.contextmanager
def _only_one(state: Path):
    state.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(state / "lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SystemExit(f"feedback on submit: another service is running on {state}") from None
        yield


def main(argv: list[str] | None = None) -> int:
    """``python -m classroom.autofeedback <course.json>``: the hub service of `make hub`'s course."""
    from classroom.course import Course

    parser = argparse.ArgumentParser(prog="python -m classroom.autofeedback", description=__doc__.split("\n")[0])
    parser.add_argument("course_json", type=Path, help="the course.json `python -m classroom hub` wrote")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[feedback-on-submit %(asctime)s] %(message)s")
    course = Course.from_json(args.course_json.read_text())
    settings = FeedbackOnSubmit.of_course(Path(course.course_dir))
    if not settings.assignments:
        print("feedback on submit: no assignment has it (c.FeedbackOnSubmit.assignments)", file=sys.stderr)
        return 2
    state = Path(course.state_dir) / "autofeedback"
    with _only_one(state):
        service = Service(
            Path(course.course_dir), Path(course.exchange), state, settings, frozenset(course.student_ids)
        )
        log.info("grading %s on submit, %d graded attempts an hour", ", ".join(settings.assignments),
                 settings.attempts_per_hour)  # fmt: skip
        service.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
