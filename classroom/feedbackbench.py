"""``python -m classroom.feedbackbench``: the time from a student's Submit to their Fetch Feedback finding the page.

No hub is needed: a temporary course and exchange on this machine, the service (``classroom.autofeedback``) in a
process of its own as ``make hub`` runs it (polling, settling, grading with ``make grade``'s path, releasing), and
the student, who is the account running this, submitting through the course's ``PrivateSubmit`` and fetching with
nbgrader's ``ExchangeFetchFeedback`` until the page is there. ``tests/test_hub.py`` measures the same on a real hub.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbgrader.auth import Authenticator
from nbgrader.coursedir import CourseDirectory
from nbgrader.exchange.default import ExchangeFetchFeedback
from nbgrader.utils import get_username
from traitlets.config import Config

from classroom.autofeedback import FeedbackOnSubmit, Queue, Service
from classroom.course import COURSE_ID
from classroom.exchange import PrivateSubmit

__all__ = ["Rehearsal", "score_of"]

ROOT = Path(__file__).resolve().parents[1]
QUIET = logging.getLogger(
    "classroom.feedbackbench.student"
)  # Fetch Feedback warns at each look until the page is there
QUIET.setLevel(logging.ERROR)
SCORE = re.compile(r"Score:\s*([0-9.]+)\s*/\s*([0-9.]+)")


def score_of(page: str) -> tuple[float, float]:
    """(score, max score) that a feedback page shows, from nbgrader's "Score: x / y"."""
    found = SCORE.search(re.sub(r"<[^>]+>", " ", page))
    if found is None:
        raise ValueError("the page shows no score")
    return float(found.group(1)), float(found.group(2))


class Rehearsal:
    """A course with `assignment` released, an exchange, the running service, and one student: the current user."""

    def __init__(self, folder: Path, assignment: str, attempts_per_hour: int = 3):
        self.folder, self.assignment = Path(folder), assignment
        self.course_dir, self.exchange, self.state = (
            self.folder / "course",
            self.folder / "exchange",
            self.folder / "state",
        )
        self.home = self.folder / "student"
        self.course_dir.mkdir(parents=True)
        shutil.copy(ROOT / "nbgrader_config.py", self.course_dir)
        shutil.copytree(ROOT / "exercises" / assignment, self.course_dir / "exercises" / assignment)
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        env.pop("RELUCOURSE_DB_URL", None)
        subprocess.run(
            [sys.executable, "-m", "nbgrader", "generate_assignment", assignment, "--force"],
            cwd=self.course_dir,
            env=env,
            check=True,
            capture_output=True,
        )
        outbound = self.exchange / COURSE_ID / "outbound"
        for folder in ("inbound", "feedback"):
            (self.exchange / COURSE_ID / folder).mkdir(parents=True)
        shutil.copytree(self.course_dir / "release" / assignment, outbound / assignment)
        shutil.copytree(outbound / assignment, self.home / assignment)  # the student's Fetch
        config = Config()
        config.FeedbackOnSubmit.assignments = [assignment]
        config.FeedbackOnSubmit.attempts_per_hour = attempts_per_hour
        config.FeedbackOnSubmit.poll_s = 0.2
        self.settings = FeedbackOnSubmit(config=config)
        self.process, self._queue = None, None

    def service(self) -> Service:
        return Service(self.course_dir, self.exchange, self.state, self.settings, jobs=1)

    def start(self) -> None:
        """The service in a process of its own (forked: what it imports is imported once)."""
        self.process = multiprocessing.get_context("fork").Process(target=self._serve)
        self.process.start()

    def queue(self) -> Queue:
        """The service's queue, as this process reads it."""
        if self._queue is None:
            self._queue = Queue(self.state / "queue.sqlite", self.settings.attempts_per_hour)
        return self._queue

    def _serve(self) -> None:
        os.setsid()  # its grading workers and kernels in its group, which stop() ends
        self.service().run()

    def stop(self) -> None:
        """End the service with everything it started, as a crash would."""
        if self.process is not None and self.process.is_alive():
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.join()

    def _config(self) -> Config:
        config = Config()
        config.CourseDirectory.course_id = COURSE_ID
        config.CourseDirectory.assignment_id = self.assignment
        config.Exchange.root = str(self.exchange)
        config.Exchange.cache = str(self.home / ".nbgrader_cache")
        config.Exchange.assignment_dir = str(self.home)
        return config

    def _exchange(self, kind):
        config = self._config()
        return kind(
            coursedir=CourseDirectory(config=config),
            authenticator=Authenticator(config=config),
            config=config,
            log=QUIET,
        )

    def answer(self, cells: dict[str, str]) -> None:
        """The student's notebooks with these solution cells (grade id → source)."""
        for path in (self.home / self.assignment).glob("*.ipynb"):
            nb = nbformat.read(path, as_version=4)
            for cell in nb.cells:
                if cell.metadata.get("nbgrader", {}).get("grade_id") in cells:
                    cell.source = cells[cell.metadata.nbgrader.grade_id]
            nbformat.write(nb, path)

    def submit(self) -> str:
        """Submit; returns the submission's timestamp (the folder Fetch Feedback puts its pages in)."""
        submit = self._exchange(PrivateSubmit)
        submit.start()
        return submit.timestamp

    def fetch(self, timestamp: str, timeout: float = 300) -> tuple[str, float]:
        """Fetch Feedback until the submission's page is there: its HTML and the seconds waited."""
        start = time.monotonic()
        page = self.home / self.assignment / "feedback" / timestamp / f"{self.assignment}.html"
        while True:
            self._exchange(ExchangeFetchFeedback).start()
            if page.exists():
                return page.read_text(), time.monotonic() - start
            failed = [r for r in self.queue().rows() if r.state == "failed"]
            if failed:  # its notice released just before: one more Fetch Feedback finds it
                self._exchange(ExchangeFetchFeedback).start()
                if page.exists():
                    return page.read_text(), time.monotonic() - start
                raise RuntimeError(f"the service could not grade {failed[0].name}: {failed[0].error}")
            if self.process is not None and not self.process.is_alive():
                raise RuntimeError("the feedback-on-submit service stopped")
            if time.monotonic() - start > timeout:
                raise TimeoutError(f"no feedback for the submission of {timestamp} after {timeout:.0f} s")
            time.sleep(0.2)


def main(argv: list[str] | None = None) -> int:
    from grading.bench import reference_solutions

    parser = argparse.ArgumentParser(prog="python -m classroom.feedbackbench", description=__doc__.split("\n")[0])
    parser.add_argument("--assignment", default="dying_relu")
    args = parser.parse_args(argv)
    source = nbformat.read(ROOT / "exercises" / args.assignment / f"{args.assignment}.ipynb", as_version=4)
    with tempfile.TemporaryDirectory(prefix="feedback-bench-") as tmp:
        rehearsal = Rehearsal(Path(tmp), args.assignment)
        rehearsal.start()
        try:
            rehearsal.answer(reference_solutions(source))
            first = rehearsal.fetch(rehearsal.submit())[1]  # the service's first grading starts its kernels
            time.sleep(1.1)  # a new timestamp for the second submission
            page, second = rehearsal.fetch(rehearsal.submit())
        finally:
            rehearsal.stop()
    score, total = score_of(page)
    print(
        f"submit to feedback ({args.assignment}, {get_username()} on this machine, no hub): first {first:.1f} s, "
        f"then {second:.1f} s; the feedback shows {score:g}/{total:g}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
