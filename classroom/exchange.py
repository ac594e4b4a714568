"""nbgrader's filesystem exchange, made private: a student reaches only their own submissions and feedback.

Stock nbgrader 0.9.6 leaves a submission world-readable (files 0644 in a 0777 folder, hidden only by a random
name), lets anyone submit under anyone's name (`--student`), takes the submission time from a file the student
wrote, and releases feedback readable by anyone who knows its name. Here, set in every account's nbgrader
configuration (`classroom.provision`):

- `PrivateSubmit`: a student submits only as themselves, and the submission is theirs alone (0700/0600);
- `ReceivedCollect`: collects a student's latest submission among those their own account made, copying only
  their regular files (no link is followed), and records when the exchange received it: the newest change
  time (ctime, which no user can set back) of anything in it, not the student's timestamp.txt;
- `PrivateReleaseFeedback`: each feedback file is handed to its student's account, readable by it alone.

The exchange's folders (`classroom.provision.make_exchange`): the course's inbound is 1733 (anyone may add,
nobody but root may list, and nobody may rename or remove another's entry: the sticky bit), feedback 0711.
"""

from __future__ import annotations

import datetime
import glob
import os
import pwd
import shutil
import stat

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.exchange.default import ExchangeCollect, ExchangeReleaseFeedback, ExchangeSubmit
from nbgrader.utils import get_username, notebook_hash

PRIVATE_DIR, PRIVATE_FILE = 0o700, 0o600


def make_private(path: str) -> None:
    """Owner-only modes on a folder and everything in it."""
    for folder, dirs, files in os.walk(path):
        for name in files:
            os.chmod(os.path.join(folder, name), PRIVATE_FILE, follow_symlinks=False)
        os.chmod(folder, PRIVATE_DIR)


def received_time(path: str) -> datetime.datetime:
    """When the exchange last received anything of this submission: the newest ctime in it (naive UTC, as nbgrader)."""
    newest = os.lstat(path).st_ctime
    for folder, dirs, files in os.walk(path):
        for name in dirs + files:
            newest = max(newest, os.lstat(os.path.join(folder, name)).st_ctime)
    return datetime.datetime.fromtimestamp(newest, datetime.UTC).replace(tzinfo=None)


def uid_of(user: str) -> int | None:
    try:
        return pwd.getpwnam(user).pw_uid
    except KeyError:
        return None


class PrivateSubmit(ExchangeSubmit):
    def init_dest(self):
        me = get_username()
        if os.getuid() != 0 and self.coursedir.student_id not in ("*", me):
            self.fail(f"You can submit only as yourself ({me}), not as {self.coursedir.student_id}.")
        super().init_dest()

    def copy_files(self):
        super().copy_files()
        make_private(os.path.join(self.inbound_path, self.assignment_filename))


class ReceivedCollect(ExchangeCollect):
    def init_src(self):
        if self.coursedir.course_id == "":
            self.fail("No course id specified. Re-run with --course flag.")
        self.inbound_path = os.path.join(self.root, self.coursedir.course_id, "inbound")
        if not os.path.isdir(self.inbound_path):
            self.fail(f"Course not found: {self.inbound_path}")
        student = self.coursedir.student_id or "*"
        with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gb:
            try:
                duedate = gb.find_assignment(self.coursedir.assignment_id).duedate
            except MissingEntry:
                duedate = None
            roster = {s.id for s in gb.students}
        by_student: dict[str, list[dict]] = {}
        for path in glob.glob(os.path.join(self.inbound_path, f"{student}+{self.coursedir.assignment_id}+*")):
            record = self._record(path, roster)
            if record is not None:
                by_student.setdefault(record["username"], []).append(record)
        self.src_records = []
        for records in by_student.values():
            records.sort(key=lambda r: r["timestamp"], reverse=True)
            on_time = [r for r in records if duedate is None or r["timestamp"] <= duedate]
            self.src_records.append(on_time[0] if self.before_duedate and on_time else records[0])

    def _record(self, path: str, roster: set[str]) -> dict | None:
        """The submission at `path`, or None (with the reason logged) if it is not its student's own."""
        filename = os.path.basename(path)
        username = filename.rsplit("+", 3)[0]
        info = os.lstat(path)
        if not stat.S_ISDIR(info.st_mode):
            self.log.warning("Not collected: %s is not a folder (a link or a file someone put in the exchange)", path)
        elif info.st_uid not in (uid_of(username), 0):
            owner = next((p.pw_name for p in pwd.getpwall() if p.pw_uid == info.st_uid), info.st_uid)
            self.log.warning("Not collected: %s claims to be from %s but was made by %s", path, username, owner)
        elif roster and username not in roster:
            self.log.warning(
                "Not collected: %s is from %s, who is not a student of %s (nbgrader db student add)",
                path,
                username,
                self.coursedir.course_id,
            )
        else:
            return {"username": username, "filename": filename, "timestamp": received_time(path)}
        return None

    def do_copy(self, src, dest, log=None):
        """Copy only the student's own regular files and folders; write the received time as the timestamp."""
        owner = os.lstat(src).st_uid
        username = os.path.basename(src).rsplit("+", 3)[0]
        for folder, dirs, files in os.walk(src):  # os.walk does not follow links to folders
            relative = os.path.relpath(folder, src)
            os.makedirs(os.path.join(dest, relative), exist_ok=True)
            for name in files:
                source = os.path.join(folder, name)
                info = os.lstat(source)
                if name == "timestamp.txt" and relative == ".":
                    continue
                if not stat.S_ISREG(info.st_mode) or info.st_uid != owner:
                    self.log.warning(
                        "Not collected from %s: %s is not a file of theirs", username, os.path.join(relative, name)
                    )
                    continue
                with open(source, "rb") as reader, open(os.path.join(dest, relative, name), "wb") as writer:
                    shutil.copyfileobj(reader, writer)
        timestamp = received_time(src).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
        with open(os.path.join(dest, "timestamp.txt"), "w") as handle:
            handle.write(timestamp)


class PrivateReleaseFeedback(ExchangeReleaseFeedback):
    def copy_files(self):
        super().copy_files()
        for student_dir in glob.glob(
            self.coursedir.format_path(
                self.coursedir.feedback_directory, self.coursedir.student_id or "*", self.coursedir.assignment_id
            )
        ):
            self._hand_over(student_dir)

    def _hand_over(self, student_dir: str) -> None:
        """Give the feedback files released for this student to their account, mode 0600."""
        student = os.path.basename(os.path.dirname(student_dir.rstrip(os.sep)))
        uid = uid_of(student)
        secret_file = os.path.join(student_dir, "submission_secret.txt")
        if not os.path.exists(secret_file):
            return
        secret = open(secret_file).read()
        for html in glob.glob(os.path.join(student_dir, "*.html")):
            notebook_id = os.path.splitext(os.path.basename(html))[0]
            released = os.path.join(self.dest_path, f"{notebook_hash(secret=secret, notebook_id=notebook_id)}.html")
            if not os.path.exists(released):
                continue
            os.chmod(released, PRIVATE_FILE)
            if uid is None:
                self.log.warning("Feedback for %s kept by root: no account of that name", student)
            elif os.getuid() == 0:
                os.chown(released, uid, -1)
