"""The LMS in and out, Canvas and Moodle: submissions in, the roster in, grades out.

Submissions: `nbgrader zip_collect <assignment>` reads the zip the LMS downloads from downloaded/<assignment>/archive/
through the two plugins here (nbgrader_config.py names them). `SafeExtractor` unzips it: an entry that would land
outside the folder, a link, an unreadable entry or a corrupt zip is skipped with its reason, the rest extracted.
`LmsCollector` reads the LMS's file names, finds each student in the gradebook and sends the notebook to
submitted/<student>/<assignment>/<notebook>.ipynb; a file it cannot place is named with the reason and skipped.

    python -m classroom.lms roster EXPORT.csv --lms canvas|moodle [--id-column COLUMN]
    python -m classroom.lms collect ASSIGNMENT DOWNLOAD.zip [--worksheet WORKSHEET.csv] [--force]
    python -m classroom.lms grades ASSIGNMENT|all --lms canvas|moodle [--export EXPORT.csv] [-o FILE]

Each takes --course-dir (default: the current directory), where it reads and writes.
"""

from __future__ import annotations

import argparse
import csv
import filecmp
import logging
import os
import re
import shutil
import stat
import subprocess
import sys
import time
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import Gradebook
from nbgrader.plugins import ExtractorPlugin, FileNameCollectorPlugin
from nbgrader.utils import find_all_notebooks
from traitlets import Int, Unicode

from classroom.course import USER_NAME
from classroom.gradebook import NotACourse, course_directory, enroll

LMS = ("canvas", "moodle")
ROSTER = "roster.csv"  # what `make hub` reads (ROSTER in the Makefile), and `nbgrader db student import` can
ROSTER_COLUMNS = ("id", "first_name", "last_name", "email", "lms_user_id")  # nbgrader's Student
# Moodle numbers a participant anew in each assignment; its grading worksheet pairs those numbers with emails.
WORKSHEET = os.path.join("downloaded", "{assignment_id}", "grading_worksheet.csv")
BIN = Path(sys.executable).parent  # nbgrader, and alembic, which nbgrader runs by name to create a gradebook

# Canvas: sortable name, lower case, letters only; LATE if after the due date; user id; file (attachment) id.
CANVAS_FILE = re.compile(r"(?P<name>.*?)_(?:(?P<late>LATE)_)?(?P<user>\d+)_(?P<file>\d+)_(?P<original>.+)", re.S)
# Canvas renames a file whose name the student already used: dying_relu-1.ipynb, -2, ...
CANVAS_RENAMED = re.compile(r"(?P<stem>.+)-(?P<n>\d+)(?P<ext>\.[^.]+)", re.S)
# Moodle: full name (its '_' made spaces), participant number, plugin; then '/' and the file (a folder, Moodle ≥ 3.1)
# or the file itself (older Moodle, or "download as folders" off).
MOODLE_PREFIX = re.compile(r"(?P<name>[^_]+)_(?P<participant>\d+)_assignsubmission_file_(?P<original>.*)", re.S)
CANVAS_NAMING = "lastnamefirstname_[LATE_]<user id>_<file id>_<file>"
MOODLE_NAMING = "'Full Name_<participant>_assignsubmission_file_/<file>'"


class LmsError(ValueError):
    """An input that cannot be used; the message names the file and the problem."""


# --- Submissions: what the LMS's file names say ---------------------------------------------------------------------


@dataclass(frozen=True)
class LmsFile:
    """Whose a file is and what they called it, as the LMS's download names it."""

    lms: str
    key: str  # Canvas: the user id; Moodle: the participant number in this assignment
    name: str  # the student's name as the LMS wrote it
    original: str  # the file as the student uploaded it
    late: bool = False  # Canvas: submitted after the due date
    canvas_file: int = 0  # Canvas's id of the uploaded file: a later upload has a larger one


def parse_lms_path(parts: list[str]) -> LmsFile | None:
    """The LMS file behind an extracted path (its parts below the extracted folder), or None."""
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        moodle = MOODLE_PREFIX.fullmatch(part)
        if moodle and (moodle["original"] if last else not moodle["original"]):
            original = moodle["original"] or "/".join(parts[i + 1 :])
            return LmsFile("moodle", moodle["participant"], moodle["name"], original)
        canvas = CANVAS_FILE.fullmatch(part) if last else None
        if canvas:
            return LmsFile(
                "canvas", canvas["user"], canvas["name"], canvas["original"], bool(canvas["late"]), int(canvas["file"])
            )
    return None


def name_key(name: str) -> str:
    """A name as both LMSs' file names and exports can be compared: letters and digits only, case folded."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", name).casefold() if ch.isalnum())


@dataclass(frozen=True)
class Enrolled:
    """A student of the gradebook, as the collector looks them up."""

    id: str
    first_name: str
    last_name: str
    email: str
    lms_user_id: str


class Directory:
    """Finds the gradebook's student behind an LMS file: Canvas by user id (the gradebook's lms_user_id), Moodle by
    the worksheet's email for the participant number if there is a worksheet, otherwise by full name."""

    def __init__(self, students: list[Enrolled], worksheet: dict[str, tuple[str, str]] | None, worksheet_path: str):
        self.students = students
        self.worksheet = worksheet
        self.worksheet_path = worksheet_path

    def find(self, file: LmsFile) -> tuple[str | None, str]:
        """(student id, '') or (None, why not)."""
        if file.lms == "canvas":
            found = [s for s in self.students if s.lms_user_id == file.key]
            who = f"Canvas user {file.key} ({file.name})"
            missing = (
                f"{who} is not in the gradebook: import the class with `python -m classroom.lms roster`, "
                f"or give the student lms_user_id {file.key}"
            )
        elif self.worksheet is not None:
            if file.key not in self.worksheet:
                return None, (
                    f"participant {file.key} ({file.name}) is not in {self.worksheet_path}: "
                    "is it the grading worksheet of another assignment?"
                )
            email, id_number = self.worksheet[file.key]
            found = [
                s
                for s in self.students
                if (email and s.email.casefold() == email.casefold()) or (id_number and s.lms_user_id == id_number)
            ]
            who = f"participant {file.key} ({file.name}, {email or id_number})"
            missing = f"{who} is not in the gradebook: import the class with `python -m classroom.lms roster`"
        else:
            key = name_key(file.name)
            found = [
                s
                for s in self.students
                if key in (name_key(s.first_name + s.last_name), name_key(s.last_name + s.first_name))
            ]
            who = f"{file.name!r}"
            missing = f"no student named {who} in the gradebook"
            if len(found) > 1:
                return None, (
                    f"{len(found)} students are named {who} ({', '.join(s.id for s in found)}): "
                    f"put the assignment's grading worksheet at {self.worksheet_path} to tell them apart"
                )
        if not found:
            return None, missing
        if len(found) > 1:
            return None, f"{who} is several students of the gradebook ({', '.join(s.id for s in found)})"
        return found[0].id, ""


def read_worksheet(path: str) -> dict[str, tuple[str, str]]:
    """Moodle's grading worksheet: participant number -> (email, ID number), from 'Participant 123456' rows."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if "Identifier" not in (reader.fieldnames or []):
            raise LmsError(f"{path}: not a Moodle grading worksheet (no 'Identifier' column)")
        return {
            re.sub(r"\D", "", row["Identifier"] or ""): (
                (row.get("Email address") or "").strip(),
                (row.get("ID number") or "").strip(),
            )
            for row in reader
        }


@dataclass
class Candidate:
    """A file that goes to one student's notebook, and how new the LMS says it is."""

    path: str
    shown: str
    rank: tuple  # (LATE, Canvas's -N, Canvas file id, time in the zip): larger is newer
    info: dict


def newer_reason(kept: tuple, other: tuple) -> str:
    """Why `kept` is the newer of two ranks (see Candidate)."""
    reasons = (
        "Canvas marks it LATE",
        f"Canvas's name for a resubmission, -{kept[1]}",
        "a newer Canvas file id",
        "a newer file time in the zip",
    )
    for reason, a, b in zip(reasons, kept, other):
        if a != b:
            return reason
    return "the LMS records them as equally new: the later in file order"


class LmsCollector(FileNameCollectorPlugin):
    """nbgrader's collector for Canvas's and Moodle's downloads: a file name -> the gradebook's student and the
    notebook's name. It decides for the whole extracted folder at the first file, so that of two files for one
    student and notebook it keeps the newer (LATE, then Canvas's -N, then Canvas's file id, then the time in the zip)
    and tells nbgrader to skip the other (nbgrader itself would stop the whole collection: it compares timestamps,
    and Canvas's and Moodle's names have none)."""

    moodle_worksheet = Unicode(
        WORKSHEET,
        help="Moodle's grading worksheet of the assignment, relative to the course directory; "
        "{assignment_id} is replaced. Used when it exists.",
    ).tag(config=True)

    _decisions: dict | None = None

    def collect(self, submitted_file: str) -> dict | None:
        """{'student_id', 'file_id'} for nbgrader, or None: skip this file (the reason is logged)."""
        if self._decisions is None:
            self._decisions = self._decide()
        info, level, message = self._decisions.get(os.path.abspath(submitted_file), (None, 0, ""))
        if message:
            self.log.log(level, message)
        return info

    def _decide(self) -> dict:
        app = self.parent
        course = app.coursedir
        extracted = os.path.join(course.root, app.collect_directory_structure).format(
            downloaded=app.downloaded_directory,
            assignment_id=course.assignment_id,
            collect_step=app.extracted_directory,
        )
        released = set(find_all_notebooks(course.format_path(course.release_directory, ".", course.assignment_id)))
        worksheet_path = self.moodle_worksheet.format(assignment_id=course.assignment_id)
        worksheet_file = os.path.join(course.root, worksheet_path)
        worksheet = None
        if os.path.isfile(worksheet_file):
            try:
                worksheet = read_worksheet(worksheet_file)
            except (LmsError, OSError) as error:
                self.log.error("%s: not used, students are found by name", error)
        with Gradebook(course.db_url, course_id=course.course_id) as gb:
            students = [
                Enrolled(s.id, s.first_name or "", s.last_name or "", s.email or "", s.lms_user_id or "")
                for s in gb.students
            ]
        directory = Directory(students, worksheet, worksheet_path)

        decisions, groups = {}, {}
        for root, _, files in os.walk(extracted):
            for name in files:
                path = os.path.abspath(os.path.join(root, name))
                shown = os.path.relpath(path, course.root)
                parts = os.path.relpath(path, extracted).split(os.sep)
                outcome = self._place(parts, released, directory)
                if isinstance(outcome, str):
                    decisions[path] = (None, logging.WARNING, f"{shown}: {outcome}: skipped")
                    continue
                info, rank = outcome
                if rank[0]:
                    decisions[path] = (info, logging.INFO, f"{shown}: Canvas marks it LATE")
                groups.setdefault((info["student_id"], info["file_id"]), []).append(
                    Candidate(path, shown, rank + (os.path.getmtime(path),), info)
                )
        for (student, notebook), candidates in groups.items():
            candidates.sort(key=lambda c: (c.rank, c.path))
            kept = candidates[-1]
            decisions.setdefault(kept.path, (kept.info, 0, ""))
            for other in candidates[:-1]:
                if filecmp.cmp(other.path, kept.path, shallow=False):
                    decisions[other.path] = (None, logging.INFO, f"{other.shown}: the same file as {kept.shown}")
                else:
                    decisions[other.path] = (
                        None,
                        logging.WARNING,
                        (
                            f"{other.shown}: {student} has another {notebook}, {kept.shown}, kept as the newer "
                            f"({newer_reason(kept.rank, other.rank)}): skipped"
                        ),
                    )
        return decisions

    def _place(self, parts: list[str], released: set[str], directory: Directory) -> tuple[dict, tuple] | str:
        """(nbgrader's info, rank) for a file, or why it cannot be collected."""
        name = parts[-1]
        if "__MACOSX" in parts or name.startswith("._"):
            return "macOS's metadata of a file, not a file a student submitted"
        extension = os.path.splitext(name)[1]
        if extension not in self.valid_ext:
            return f"not a notebook ({extension or 'no extension'}; collected: {', '.join(self.valid_ext)})"
        file = parse_lms_path(parts)
        if file is None:
            return f"not a file name Canvas ({CANVAS_NAMING}) or Moodle ({MOODLE_NAMING}) gives a submission"
        student, problem = directory.find(file)
        if student is None:
            return problem
        notebook, renamed = file.original, 0
        renaming = CANVAS_RENAMED.fullmatch(notebook) if file.lms == "canvas" else None
        if renaming and notebook not in released and renaming["stem"] + renaming["ext"] in released:
            notebook, renamed = renaming["stem"] + renaming["ext"], int(renaming["n"])
        return {"student_id": student, "file_id": notebook}, (file.late, renamed, file.canvas_file)


# --- Submissions: the zips -------------------------------------------------------------------------------------------


class SafeExtractor(ExtractorPlugin):
    """nbgrader's extractor, minus what makes it unsafe or all-or-nothing. nbgrader's (setuptools' unpack_archive)
    stops the whole collection at an entry with '../' or a corrupt zip, writes a symbolic link as a file that holds
    its target, and gives each file the mode the zip names (setuid included). Here each zip in the archive folder is
    extracted into a folder of its name; an entry that is absolute, leads outside (..), is a link or a device, is
    damaged or larger than max_file_bytes is skipped with its reason; modes are the umask's; a file's time is the
    zip's. A zip inside the zip (a student's own) is left as it is. Other files are copied, as nbgrader does."""

    max_file_bytes = Int(100 * 2**20, help="The largest file extracted from a zip, in bytes").tag(config=True)

    def extract(self, archive_path: str, extracted_path: str) -> None:
        found = False
        for root, folders, files in os.walk(archive_path):
            folders.sort()
            destination = os.path.normpath(os.path.join(extracted_path, os.path.relpath(root, archive_path)))
            for name in sorted(files):
                found = True
                os.makedirs(destination, exist_ok=True)
                source = os.path.join(root, name)
                stem, extension = os.path.splitext(name)
                if extension in self.zip_ext:
                    self.unzip(source, os.path.join(destination, stem))
                else:
                    shutil.copy(source, os.path.join(destination, name))
        if not found:
            self.log.warning("No files found in directory: %s", archive_path)

    def unzip(self, archive: str, destination: str) -> None:
        shown = os.path.relpath(archive, self.parent.coursedir.root)
        try:
            opened = zipfile.ZipFile(archive)
        except (zipfile.BadZipFile, OSError) as error:
            self.log.error("%s: not a readable zip (%s): nothing extracted from it; download it again", shown, error)
            return
        self.log.info("Extracting %s to %s", shown, destination)
        written: set[str] = set()
        with opened:
            for entry in opened.infolist():
                if entry.filename in written:
                    self.log.warning(
                        "%s: entry %r is in the zip twice: the later one is extracted", shown, entry.filename
                    )
                problem = self._extract_entry(opened, entry, destination)
                if problem:
                    self.log.warning("%s: entry %r %s: not extracted", shown, entry.filename, problem)
                written.add(entry.filename)

    def _extract_entry(self, archive: zipfile.ZipFile, entry: zipfile.ZipInfo, destination: str) -> str:
        """Extract one entry; '' or why it was not."""
        name = entry.filename
        parts = [part for part in name.split("/") if part not in ("", ".")]
        if name.startswith("/") or "\\" in name or "\0" in name or re.match(r"[A-Za-z]:", name) or ".." in parts:
            return "is an absolute path or leads outside the extracted folder"
        if not parts:
            return "has no name"
        kind = stat.S_IFMT(entry.external_attr >> 16)
        if kind == stat.S_IFLNK:
            return "is a symbolic link"
        target = os.path.join(destination, *parts)
        partial = f"{target}.{os.getpid()}.partial"  # replaces target only once complete
        try:
            if entry.is_dir():
                os.makedirs(target, exist_ok=True)
                return ""
            if kind not in (0, stat.S_IFREG):
                return "is not a regular file"
            if entry.file_size > self.max_file_bytes:
                return f"is {entry.file_size} bytes, more than max_file_bytes ({self.max_file_bytes})"
            os.makedirs(os.path.dirname(target), exist_ok=True)
            if self._copy_out(archive, entry, partial) > self.max_file_bytes:
                os.remove(partial)
                return f"unpacks to more than max_file_bytes ({self.max_file_bytes})"
            stamp = time.mktime(entry.date_time + (0, 0, -1))
            os.utime(partial, (stamp, stamp))
            os.replace(partial, target)
        except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError, OSError) as error:
            if os.path.isfile(partial):
                os.remove(partial)
            return f"cannot be read or written ({error})"
        return ""

    def _copy_out(self, archive: zipfile.ZipFile, entry: zipfile.ZipInfo, target: str) -> int:
        """Write the entry's bytes to a new file target, at most max_file_bytes + 1 of them; return how many."""
        size = 0
        with archive.open(entry) as source, open(target, "xb") as out:
            while size <= self.max_file_bytes:
                chunk = source.read(min(2**20, self.max_file_bytes + 1 - size))
                if not chunk:
                    break
                out.write(chunk)
                size += len(chunk)
        return size


# --- The roster ------------------------------------------------------------------------------------------------------

ID_COLUMN = {"canvas": "SIS Login ID", "moodle": "Email address"}
REQUIRED = {"canvas": ("Student", "ID"), "moodle": ("First name", "Last name")}


def read_export(path: Path, lms: str, id_column: str) -> tuple[list[dict], list[str]]:
    """The students of an LMS's export as nbgrader's student rows, and what was skipped (line, who, why).

    Canvas: the gradebook export (Student is 'Last, First', ID is Canvas's user id, which the collector reads in
    file names; the Points Possible row and rows without a user id are Canvas's, not students). Moodle: the
    participants download (First name, Last name, Email address, ID number, Roles: only students are taken); the
    ID number is kept as lms_user_id, Moodle's grade import can match on it. The student id is id_column's value,
    the part before '@' of an email, lower-cased as JupyterHub does: it must be the student's user name on the hub.
    """
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns = reader.fieldnames or []
        lacking = [c for c in (*REQUIRED[lms], id_column) if c not in columns]
        if lacking:
            raise LmsError(
                f"{path}: no column {', '.join(map(repr, lacking))}: is it {lms.title()}'s export? "
                f"(its columns: {', '.join(columns)})"
            )
        rows, skipped, seen = [], [], {}
        for line, row in enumerate(reader, start=2):
            value = {key: (text or "").strip() for key, text in row.items() if key is not None}
            if lms == "canvas":
                if value["Student"] == "Points Possible" or not value["ID"]:
                    continue
                last, _, first = value["Student"].partition(",")
                student = {
                    "first_name": first.strip(),
                    "last_name": last.strip(),
                    "email": "",
                    "lms_user_id": value["ID"],
                }
                who = value["Student"]
            else:
                student = {
                    "first_name": value["First name"],
                    "last_name": value["Last name"],
                    "email": value.get("Email address", ""),
                    "lms_user_id": value.get("ID number", ""),
                }
                who = f"{value['First name']} {value['Last name']}"
                if "Roles" in value and "student" not in value["Roles"].casefold():
                    skipped.append(f"line {line} ({who}): not a student ({value['Roles'] or 'no role'})")
                    continue
            raw = value[id_column]
            student_id = raw.partition("@")[0].lower()
            if not USER_NAME.fullmatch(student_id):
                skipped.append(
                    f"line {line} ({who}): {id_column} {raw!r} does not give a user name "
                    f"({'empty' if not raw else repr(student_id)}: lower-case letters, digits, '_' or '-', "
                    "at most 32, not starting with a digit or '-')"
                )
                continue
            if student_id in seen:
                skipped.append(f"line {line} ({who}): user name {student_id!r} again (line {seen[student_id]})")
                continue
            seen[student_id] = line
            rows.append({"id": student_id, **student})
    return rows, skipped


@dataclass(frozen=True)
class Imported:
    """What `import_roster` did: the roster written, the one it replaced (kept beside it; None if there was none),
    the students added to and updated in the gradebook, and the gradebook's students the export lacks."""

    roster: Path
    replaced: Path | None
    added: int
    updated: int
    absent: list[str]


def import_roster(course_dir: Path, rows: list[dict]) -> Imported:
    """Write roster.csv, keeping one already there as roster.csv.previous, and add or update each student in the
    gradebook (only the fields the export has)."""
    course_directory(course_dir)  # a course directory, before anything is written
    roster, replaced = course_dir / ROSTER, None
    if roster.is_file():
        replaced = course_dir / f"{ROSTER}.previous"
        shutil.copy2(roster, replaced)
    with open(roster, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, ROSTER_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return Imported(roster, replaced, *enroll(course_dir, rows))


# --- Grades ----------------------------------------------------------------------------------------------------------

CANVAS_IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
CANVAS_POINTS = "    Points Possible"  # the first cell of the row under the header, as Canvas writes it
MOODLE_IDENTITY = ("First name", "Last name", "ID number", "Email address")  # Moodle's grade export's columns
# A student with no submission: Canvas keeps an empty cell ungraded (its missing-submission policy and an 'EX' typed
# in Canvas stay in force; its final score counts it as 0); Moodle's default aggregation ("only count non-empty
# grades") drops an empty grade from the total, so an absent student would not lose the points: 0.
MISSING = {"canvas": "empty", "moodle": "zero"}


def points(value: float) -> str:
    return f"{round(value, 2):.2f}".rstrip("0").rstrip(".")


@dataclass
class Grades:
    """Each student's score (after nbgrader's late penalty, at least 0) per assignment; None: no submission."""

    assignments: list[tuple[str, float]]  # name, max score
    students: list[Enrolled]
    scores: dict[tuple[str, str], float]
    to_grade: dict[str, list[str]] = field(default_factory=dict)  # assignment -> students with answers to grade by hand

    @classmethod
    def read(cls, course_dir: Path, assignment: str) -> Grades:
        course = course_directory(course_dir)
        with Gradebook(course.db_url, course_id=course.course_id) as gb:
            names = [a.name for a in gb.assignments]
            if assignment != "all" and assignment not in names:
                raise LmsError(f"no assignment {assignment!r} in the gradebook (it has: {', '.join(names) or 'none'})")
            chosen = [gb.find_assignment(name) for name in names if assignment in ("all", name)]
            scores = {
                (s.student.id, a.name): max(0.0, s.score - s.late_submission_penalty)
                for a in chosen
                for s in a.submissions
            }
            students = sorted(
                (
                    Enrolled(s.id, s.first_name or "", s.last_name or "", s.email or "", s.lms_user_id or "")
                    for s in gb.students
                ),
                key=lambda s: (name_key(s.last_name), name_key(s.first_name), s.id),
            )
            to_grade = {a.name: sorted(s.student.id for s in a.submissions if s.needs_manual_grade) for a in chosen}
            return cls(
                [(a.name, a.max_score) for a in chosen], students, scores, {a: s for a, s in to_grade.items() if s}
            )

    def cell(self, student: str, assignment: str, missing: str) -> str:
        score = self.scores.get((student, assignment))
        return points(score) if score is not None else ("0" if missing == "zero" else "")


def read_canvas_export(path: Path) -> tuple[dict[str, str], dict[str, dict]]:
    """From Canvas's gradebook export: its assignment columns ('Name (id)') by name_key of the name, and each
    student's row by Canvas user id."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if not set(CANVAS_IDENTITY) <= set(reader.fieldnames or []):
            raise LmsError(
                f"{path}: not Canvas's gradebook export (its first columns are {', '.join(CANVAS_IDENTITY)})"
            )
        columns = {}
        for header in reader.fieldnames:
            match = re.fullmatch(r"(?P<name>.+) \((?P<id>\d+)\)", header)
            if match:
                columns[name_key(match["name"])] = header
        rows = {row["ID"].strip(): row for row in reader if (row["ID"] or "").strip()}
    return columns, rows


def write_canvas(grades: Grades, out: Path, export: Path | None, missing: str) -> list[str]:
    """Canvas's gradebook import: its identity columns, one column per assignment ('Name (id)' as Canvas exports
    it, when the export has the assignment: otherwise the bare name, and Canvas creates a new assignment), the
    Points Possible row, a row per student. Returns notes for the instructor."""
    columns, exported = read_canvas_export(export) if export else ({}, {})
    notes = []
    headers = []
    for name, _ in grades.assignments:
        header = columns.get(name_key(name))
        if header is None:
            notes.append(
                f"{name}: no column '{name} (<id>)' in {export or 'a Canvas export (--export)'}: "
                f"Canvas will create a new assignment {name!r}"
            )
        headers.append(header or name)
    with open(out, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*CANVAS_IDENTITY, *headers])
        writer.writerow([CANVAS_POINTS, "", "", "", "", *(points(m) for _, m in grades.assignments)])
        for s in grades.students:
            row = exported.get(s.lms_user_id, {})
            writer.writerow(
                [
                    row.get("Student") or f"{s.last_name}, {s.first_name}",
                    s.lms_user_id,
                    row.get("SIS User ID", ""),
                    row.get("SIS Login ID", ""),
                    row.get("Section", ""),
                    *(grades.cell(s.id, name, missing) for name, _ in grades.assignments),
                ]
            )
    lacking = [s.id for s in grades.students if not s.lms_user_id]
    if lacking:
        notes.append(f"no Canvas user id (lms_user_id) for {', '.join(lacking)}: Canvas can match them by name only")
    return notes


def write_moodle(grades: Grades, out: Path, missing: str) -> list[str]:
    """Moodle's grade import (Grades > Import > CSV file): map 'Email address' to useremail (or 'ID number' to
    useridnumber) and each assignment's column to its grade item."""
    with open(out, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*MOODLE_IDENTITY, *(name for name, _ in grades.assignments)])
        for s in grades.students:
            writer.writerow(
                [
                    s.first_name,
                    s.last_name,
                    s.lms_user_id,
                    s.email,
                    *(grades.cell(s.id, name, missing) for name, _ in grades.assignments),
                ]
            )
    lacking = [s.id for s in grades.students if not s.email and not s.lms_user_id]
    return [f"no email or ID number for {', '.join(lacking)}: Moodle cannot match them"] if lacking else []


# --- The command line ------------------------------------------------------------------------------------------------


def place_download(download: Path, archive: Path) -> Path:
    """Copy a download into the archive folder, beside earlier ones; a different file of the same name is kept too."""
    archive.mkdir(parents=True, exist_ok=True)
    target, n = archive / download.name, 1
    while target.exists() and not filecmp.cmp(target, download, shallow=False):
        n += 1
        target = archive / f"{download.stem}-{n}{download.suffix}"
    shutil.copyfile(download, target)
    return target


def collect(course_dir: Path, assignment: str, downloads: list[Path], worksheet: Path | None, force: bool) -> int:
    """Put the downloads in downloaded/<assignment>/archive/ and run nbgrader's zip_collect (with the plugins)."""
    if not assignment or "/" in assignment or assignment.startswith("."):
        raise LmsError(f"{assignment!r} is not an assignment name")
    for download in downloads:
        if not download.is_file():
            raise LmsError(f"{download}: no such file")
    folder = course_dir / "downloaded" / assignment
    for download in downloads:
        print(f"{download} -> {place_download(download, folder / 'archive')}")
    if worksheet:
        read_worksheet(str(worksheet))
        shutil.copyfile(worksheet, course_dir / WORKSHEET.format(assignment_id=assignment))
    shutil.rmtree(folder / "extracted", ignore_errors=True)  # made again from archive/
    done = subprocess.run(
        [str(BIN / "nbgrader"), "zip_collect", assignment, *(["--force"] if force else [])], cwd=course_dir
    )
    submitted = sorted(course_dir.glob(f"submitted/*/{assignment}/*.ipynb"))
    students = len({p.parts[-3] for p in submitted})
    print(f"submitted/: {len(submitted)} notebooks of {students} students for {assignment}")
    return done.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m classroom.lms", description=__doc__.split("\n\n")[0])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--course-dir", type=Path, default=Path.cwd(), help="default: the current directory")
    commands = parser.add_subparsers(dest="command", required=True)
    roster = commands.add_parser(
        "roster", parents=[common], help=f"the class from the LMS's export into the gradebook and {ROSTER}"
    )
    roster.add_argument(
        "export", type=Path, help="Canvas: Grades > Export (CSV); Moodle: Participants > download (CSV)"
    )
    roster.add_argument("--lms", choices=LMS, required=True)
    roster.add_argument(
        "--id-column",
        help="the column whose value (before any '@') is the student's user name "
        f"on the hub (default: {ID_COLUMN['canvas']!r} for Canvas, "
        f"{ID_COLUMN['moodle']!r} for Moodle)",
    )
    gather = commands.add_parser(
        "collect", parents=[common], help="the LMS's zip of submissions into submitted/ (nbgrader zip_collect)"
    )
    gather.add_argument("assignment")
    gather.add_argument(
        "downloads",
        type=Path,
        nargs="*",
        help="the zip(s) the LMS downloads; none: collect again from those downloaded/<assignment>/archive/ holds",
    )
    gather.add_argument(
        "--worksheet",
        type=Path,
        help="Moodle: the assignment's grading worksheet (CSV), to find students by email rather than by name",
    )
    gather.add_argument("--force", action="store_true", help="replace what submitted/ holds for these students")
    grades = commands.add_parser("grades", parents=[common], help="the gradebook's scores as the CSV the LMS imports")
    grades.add_argument("assignment", help="an assignment, or 'all'")
    grades.add_argument("--lms", choices=LMS, required=True)
    grades.add_argument(
        "--export",
        type=Path,
        help="Canvas: its gradebook export, for the assignment columns "
        "'Name (id)' and the students' SIS ids and sections",
    )
    grades.add_argument(
        "--missing",
        choices=("empty", "zero"),
        help="the cell of a student without a submission (default: empty for Canvas, 0 for Moodle)",
    )
    grades.add_argument("-o", "--output", type=Path, help="default: <lms>-grades-<assignment>.csv in the course dir")
    args = parser.parse_args(argv)

    os.environ["PATH"] = os.pathsep.join([str(BIN), os.environ.get("PATH", "")])
    course_dir = args.course_dir.resolve()
    try:
        if args.command == "roster":
            id_column = args.id_column or ID_COLUMN[args.lms]
            rows, skipped = read_export(args.export, args.lms, id_column)
            done = import_roster(course_dir, rows)
            if done.replaced:
                print(f"the roster.csv it replaces: {done.replaced}")
            print(
                f"{done.roster}: {len(rows)} students, user names from {id_column!r}; gradebook: {done.added} added, "
                f"{done.updated} updated"
            )
            for line in skipped:
                print(f"{args.export}, {line}: skipped", file=sys.stderr)
            if done.absent:
                print(f"in the gradebook, not in {args.export}: {', '.join(done.absent)}", file=sys.stderr)
            return 0
        if args.command == "collect":
            return collect(course_dir, args.assignment, args.downloads, args.worksheet, args.force)
        table = Grades.read(course_dir, args.assignment)
        out = args.output or course_dir / f"{args.lms}-grades-{args.assignment}.csv"
        missing = args.missing or MISSING[args.lms]
        notes = (
            write_canvas(table, out, args.export, missing)
            if args.lms == "canvas"
            else write_moodle(table, out, missing)
        )
        print(f"{out}: {len(table.students)} students, {', '.join(name for name, _ in table.assignments)}")
        for note in notes:
            print(note, file=sys.stderr)
        for name, students in table.to_grade.items():
            print(
                f"{name}: {len(students)} submissions still need manual grading (their short answers count as 0 "
                f"until graded in the formgrader): {', '.join(students)}",
                file=sys.stderr,
            )
        return 0
    except (LmsError, NotACourse, OSError) as error:
        print(f"python -m classroom.lms {args.command}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
