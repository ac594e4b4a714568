"""The LMS in and out (classroom/lms.py), in copies of the course: Canvas's and Moodle's roster exports into the
gradebook; their zips of submissions, bad files among them, through the real `nbgrader zip_collect` (with the
plugins nbgrader_config.py names) and `python -m classroom.lms collect`; the grade CSVs each LMS imports."""

import csv
import json
import stat
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import pytest
from course import copy_course
from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning

from classroom.lms import LmsFile, parse_lms_path

pytestmark = pytest.mark.nbgrader

BIN = Path(sys.executable).parent
PATH = {"PATH": f"{BIN}:/usr/bin:/bin"}

# Canvas's gradebook import: "Student Name, Student ID, SIS Login ID and Section" are required, assignment columns
# are "Name (assignment id)" as the export writes them, the second row is Points Possible (Canvas Instructor Guide,
# "How do I import grades in the Gradebook?"; the export's own first columns).
CANVAS_IMPORT_HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
CANVAS_POINTS_ROW = "    Points Possible"
# Moodle's grade import (Grades > Import > CSV file) maps an identifier column to useremail or useridnumber and a
# column to each grade item; its own export names them so (MoodleDocs, "Grade import", "Grade export").
MOODLE_IDENTITY = ["First name", "Last name", "ID number", "Email address"]

HAND_ROSTER = "id,first_name,last_name,email\nasmith,Alice,Smith,alice@example.org\n"
CANVAS_EXPORT = """\
Student,ID,SIS User ID,SIS Login ID,Section,Dying ReLU (4201),Current Score,Unposted Current Score,Final Score
    Points Possible,,,,,10.00,(read only),(read only),(read only)
"Smith, Alice",1001,S1001,asmith,Section 1,,,,
"Jones, Bob",1002,S1002,bjones,Section 1,,,,
"O'Neil, Carol",1003,S1003,coneil,Section 2,,,,
"Ng, Dave",1004,S1004,DNg@uni.example,Section 2,,,,
"Kim, Lee",1006,S1006,lkim,Section 2,,,,
"Ninelives, Nina",1005,S1005,9lives,Section 1,,,,
"Student, Test",1099,,,Section 1,,,,
"""
MOODLE_PARTICIPANTS = """\
First name,Last name,ID number,Email address,Roles,Groups,Last access to course
Ana,Lima,20230001,ana@uni.example,Student,,2 days
Bruno,Costa,20230002,bruno@uni.example,Student,,1 day
Wei,Zhang,20230003,weiz@uni.example,Student,,now
Wei,Zhang,20230004,wzhang@uni.example,Student,,now
Olga,Petrov,20230005,olga.petrov@uni.example,Student,,Never
Tom,Hart,,tom@uni.example,Teacher,,now
"""
# Moodle's assignment grading worksheet: participant numbers (new in each assignment) with the students' emails.
MOODLE_WORKSHEET = """\
Identifier,Full name,Email address,Status,Grade,Maximum Grade,Grade can be changed,Last modified (submission),\
Last modified (grade),Feedback comments
Participant 301,Ana Lima,ana@uni.example,Submitted for grading,,10.00,Yes,"Monday, 2 June 2025, 10:00 AM",-,
Participant 302,Bruno Costa,bruno@uni.example,Submitted for grading,,10.00,Yes,"Monday, 2 June 2025, 9:00 AM",-,
Participant 303,Wei Zhang,weiz@uni.example,Submitted for grading,,10.00,Yes,"Monday, 2 June 2025, 8:00 AM",-,
Participant 304,Wei Zhang,wzhang@uni.example,Submitted for grading,,10.00,Yes,"Monday, 2 June 2025, 8:30 AM",-,
Participant 305,Mia Wong,mia@uni.example,Submitted for grading,,10.00,Yes,"Monday, 2 June 2025, 7:00 AM",-,
"""


def run(course: Path, *command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=course, env=PATH, capture_output=True, text=True, timeout=120)


def lms(course: Path, *args: str) -> subprocess.CompletedProcess:
    return run(course, sys.executable, "-m", "classroom.lms", *args, "--course-dir", str(course))


def notebook(course: Path, assignment: str, marker: str) -> str:
    """The released notebook as a student hands it in, told apart by a marker cell."""
    nb = json.loads((course / "release" / assignment / f"{assignment}.ipynb").read_text())
    nb["cells"].append({"cell_type": "markdown", "metadata": {}, "source": [marker]})
    return json.dumps(nb)


def entry(name: str, mode: int = stat.S_IFREG | 0o644, when=(2025, 6, 2, 10, 0, 0)) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=when)
    info.external_attr = mode << 16
    return info


def corrupt_entry(archive: Path, name: str) -> None:
    """Flip a byte of a stored entry's data: its CRC no longer matches."""
    with zipfile.ZipFile(archive) as z:
        info = z.getinfo(name)
    data = bytearray(archive.read_bytes())
    header = info.header_offset
    start = (
        header
        + 30
        + int.from_bytes(data[header + 26 : header + 28], "little")
        + int.from_bytes(data[header + 28 : header + 30], "little")
    )
    data[start + 10] ^= 0xFF
    archive.write_bytes(bytes(data))


def submitted(course: Path, assignment: str) -> dict[str, str]:
    return {p.parts[-3]: p.read_text() for p in course.glob(f"submitted/*/{assignment}/*.ipynb")}


def marker_of(text: str) -> str:
    return json.loads(text)["cells"][-1]["source"][0]


def read_csv(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def set_score(
    course: Path, assignment: str, student: str, score: float, penalty: float = 0.0, to_grade: bool = False
) -> None:
    """What autograde records: the student's submission and its grades (the first graded cell gets the score);
    `to_grade`: the last cell is an answer that waits for manual grading."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="relucourse") as gb:
        with warnings.catch_warnings():  # nbgrader's add_submission trips SQLAlchemy's autoflush warnings
            warnings.simplefilter("ignore", SAWarning)
            gb.add_submission(assignment, student)
        notebook_ = gb.find_submission(assignment, student).notebooks[0]
        grades = sorted(notebook_.grades, key=lambda g: g.name)
        for i, grade in enumerate(grades):
            grade.auto_score, grade.needs_manual_grade = (score if i == 0 else 0.0), False
        if to_grade:
            grades[-1].auto_score, grades[-1].needs_manual_grade = None, True
        notebook_.late_submission_penalty = penalty
        gb.db.commit()


def max_score(course: Path, assignment: str) -> float:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="relucourse") as gb:
        return gb.find_assignment(assignment).max_score


@pytest.fixture(scope="module")
def canvas(tmp_path_factory) -> dict:
    """A course on Canvas: the roster imported from the gradebook export, then a download of submissions collected."""
    base = tmp_path_factory.mktemp("canvas")  # the instructor's downloads beside the course
    course = copy_course(base / "course")
    assert run(course, str(BIN / "nbgrader"), "generate_assignment", "dying_relu").returncode == 0
    export = base / "canvas-export.csv"
    export.write_text(CANVAS_EXPORT)
    (course / "roster.csv").write_text(HAND_ROSTER)  # the instructor's own, from before the LMS
    roster = lms(course, "roster", str(export), "--lms", "canvas")

    download = base / "submissions.zip"
    nb = lambda marker: notebook(course, "dying_relu", marker)  # noqa: E731
    with zipfile.ZipFile(download, "w") as z:
        z.writestr(entry("smithalice_1001_5001_dying_relu.ipynb"), nb("alice"))
        z.writestr(entry("jonesbob_LATE_1002_5002_dying_relu.ipynb"), nb("bob late"))
        z.writestr(entry("oneilcarol_1003_5003_dying_relu-1.ipynb", stat.S_IFREG | 0o4755), nb("carol resubmitted"))
        z.writestr(entry("ngdave_1004_5004_dying_relu.ipynb"), nb("dave first"))
        z.writestr(entry("ngdave_LATE_1004_5010_dying_relu-2.ipynb"), nb("dave newest"))
        z.writestr(entry("ngdave_1004_5005_notes.pdf"), b"%PDF-1.4")
        z.writestr(entry("doejane_1077_5006_dying_relu.ipynb"), nb("not in the roster"))
        z.writestr(entry("kimlee_1006_5008_dying_relu.ipynb"), nb("damaged"))
        z.writestr(entry("../../../../../escaped.ipynb"), nb("zip slip"))  # from extracted/submissions/ to base/
        z.writestr(entry(str(base / "absolute.ipynb")), nb("absolute"))
        z.writestr(entry("smithalice_1001_5099_dying_relu.ipynb", stat.S_IFLNK | 0o777), "/etc/passwd")
        z.writestr(entry("__MACOSX/._smithalice_1001_5001_dying_relu.ipynb"), b"\0\5\26\7")
        z.writestr(entry("dying_relu.ipynb"), nb("no LMS name"))
    corrupt_entry(download, "kimlee_1006_5008_dying_relu.ipynb")
    broken = base / "submissions (1).zip"
    broken.write_bytes(download.read_bytes()[:200])  # an interrupted download

    collected = lms(course, "collect", "dying_relu", str(download), str(broken))
    return {"base": base, "course": course, "export": export, "roster": roster, "collected": collected}


@pytest.fixture(scope="module")
def moodle(tmp_path_factory) -> dict:
    """A course on Moodle: the participants imported; two downloads collected by plain `nbgrader zip_collect`, then
    again with the grading worksheet through `python -m classroom.lms collect --force`."""
    base = tmp_path_factory.mktemp("moodle")
    course = copy_course(base / "course")
    assert run(course, str(BIN / "nbgrader"), "generate_assignment", "leaky_relu").returncode == 0
    participants = base / "participants.csv"
    participants.write_text(MOODLE_PARTICIPANTS)
    roster = lms(course, "roster", str(participants), "--lms", "moodle")

    nb = lambda marker: notebook(course, "leaky_relu", marker)  # noqa: E731
    archive = course / "downloaded" / "leaky_relu" / "archive"
    archive.mkdir(parents=True)
    with zipfile.ZipFile(archive / "RELU-Leaky ReLU-77.zip", "w") as z:
        z.writestr(entry("Ana Lima_301_assignsubmission_file_/leaky_relu.ipynb"), nb("ana first"))
        z.writestr(entry("Ana Lima_301_assignsubmission_onlinetext_/onlinetext.html"), "<p>done</p>")
        z.writestr(entry("Bruno Costa_302_assignsubmission_file_leaky_relu.ipynb"), nb("bruno, flat layout"))
        z.writestr(entry("Wei Zhang_303_assignsubmission_file_/leaky_relu.ipynb"), nb("wei 303"))
        z.writestr(entry("Wei Zhang_304_assignsubmission_file_/leaky_relu.ipynb"), nb("wei 304"))
        z.writestr(entry("Mia Wong_305_assignsubmission_file_/leaky_relu.ipynb"), nb("mia"))
    with zipfile.ZipFile(archive / "RELU-Leaky ReLU-77 (1).zip", "w") as z:
        z.writestr(
            entry("Ana Lima_301_assignsubmission_file_/leaky_relu.ipynb", when=(2025, 6, 3, 9, 0, 0)),
            nb("ana again, a day later"),
        )
        z.writestr(entry("Bruno Costa_302_assignsubmission_file_leaky_relu.ipynb"), nb("bruno, flat layout"))
    by_name = run(course, str(BIN / "nbgrader"), "zip_collect", "leaky_relu")
    after_names = submitted(course, "leaky_relu")

    worksheet = base / "Grades-RELU-Leaky ReLU-77.csv"
    worksheet.write_text(MOODLE_WORKSHEET)
    by_email = lms(course, "collect", "leaky_relu", "--worksheet", str(worksheet), "--force")
    return {"course": course, "roster": roster, "by_name": by_name, "after_names": after_names, "by_email": by_email}


def test_file_names_of_both_lms():
    assert parse_lms_path(["submissions", "smithalice_LATE_1001_5002_dying_relu-1.ipynb"]) == LmsFile(
        "canvas", "1001", "smithalice", "dying_relu-1.ipynb", late=True, canvas_file=5002
    )
    assert parse_lms_path(["x", "Ana Lima_301_assignsubmission_file_", "leaky_relu.ipynb"]) == LmsFile(
        "moodle", "301", "Ana Lima", "leaky_relu.ipynb"
    )
    assert parse_lms_path(["x", "Ana Lima_301_assignsubmission_file_leaky_relu.ipynb"]) == LmsFile(
        "moodle", "301", "Ana Lima", "leaky_relu.ipynb"
    )
    assert parse_lms_path(["x", "leaky_relu.ipynb"]) is None
    assert parse_lms_path(["smithalice_1001_5002_dir", "leaky_relu.ipynb"]) is None  # a folder is no Canvas file


def test_canvas_roster_becomes_nbgrader_students(canvas):
    course, roster = canvas["course"], canvas["roster"]
    assert roster.returncode == 0, roster.stderr
    assert (course / "roster.csv.previous").read_text() == HAND_ROSTER, "the roster it replaced is lost"
    assert f"the roster.csv it replaces: {course / 'roster.csv.previous'}" in roster.stdout
    assert read_csv(course / "roster.csv") == [
        ["id", "first_name", "last_name", "email", "lms_user_id"],
        ["asmith", "Alice", "Smith", "", "1001"],
        ["bjones", "Bob", "Jones", "", "1002"],
        ["coneil", "Carol", "O'Neil", "", "1003"],
        ["dng", "Dave", "Ng", "", "1004"],  # an email as login: the part before '@', lower case
        ["lkim", "Lee", "Kim", "", "1006"],
    ]
    assert "line 8 (Ninelives, Nina): SIS Login ID '9lives' does not give a user name" in roster.stderr
    assert "line 9 (Student, Test): SIS Login ID '' does not give a user name" in roster.stderr
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="relucourse") as gb:
        assert {s.id: (s.last_name, s.lms_user_id) for s in gb.students} == {
            "asmith": ("Smith", "1001"),
            "bjones": ("Jones", "1002"),
            "coneil": ("O'Neil", "1003"),
            "dng": ("Ng", "1004"),
            "lkim": ("Kim", "1006"),
        }


def test_canvas_download_lands_in_submitted(canvas):
    course, done = canvas["course"], canvas["collected"]
    assert done.returncode == 0, done.stdout + done.stderr
    notebooks = {student: marker_of(text) for student, text in submitted(course, "dying_relu").items()}
    assert notebooks == {"asmith": "alice", "bjones": "bob late", "coneil": "carol resubmitted", "dng": "dave newest"}
    assert [p.name for p in (course / "submitted" / "coneil" / "dying_relu").iterdir()] == ["dying_relu.ipynb"]
    assert "submitted/: 4 notebooks of 4 students for dying_relu" in done.stdout


def test_canvas_bad_files_are_named_and_skipped(canvas):
    base, course, log = canvas["base"], canvas["course"], canvas["collected"].stdout + canvas["collected"].stderr
    extracted = "downloaded/dying_relu/extracted/submissions/"
    expected = [
        f"{extracted}ngdave_1004_5004_dying_relu.ipynb: dng has another dying_relu.ipynb, "
        f"{extracted}ngdave_LATE_1004_5010_dying_relu-2.ipynb, kept as the newer (Canvas marks it LATE): skipped",
        f"{extracted}ngdave_1004_5005_notes.pdf: not a notebook (.pdf; collected: .ipynb): skipped",
        f"{extracted}doejane_1077_5006_dying_relu.ipynb: Canvas user 1077 (doejane) is not in the gradebook",
        "entry 'kimlee_1006_5008_dying_relu.ipynb' cannot be read or written (Bad CRC-32",
        "entry '../../../../../escaped.ipynb' is an absolute path or leads outside the extracted folder: not extracted",
        f"entry '{base / 'absolute.ipynb'}' is an absolute path or leads outside",
        "entry 'smithalice_1001_5099_dying_relu.ipynb' is a symbolic link: not extracted",
        f"{extracted}__MACOSX/._smithalice_1001_5001_dying_relu.ipynb: macOS's metadata of a file",
        f"{extracted}dying_relu.ipynb: not a file name Canvas (",
        "downloaded/dying_relu/archive/submissions (1).zip: not a readable zip (File is not a zip file): "
        "nothing extracted from it",
        f"{extracted}jonesbob_LATE_1002_5002_dying_relu.ipynb: Canvas marks it LATE",
    ]
    assert [m for m in expected if m not in log] == []
    assert list(base.rglob("escaped.ipynb")) == [] and not (base / "absolute.ipynb").exists()
    assert not any(p.is_symlink() for p in (course / "downloaded").rglob("*"))
    carol = course / "submitted" / "coneil" / "dying_relu" / "dying_relu.ipynb"
    assert not carol.stat().st_mode & (stat.S_ISUID | stat.S_IXUSR)  # the zip's setuid mode is not applied
    assert "Traceback" not in log


def test_canvas_grades_import_format(canvas):
    course, export = canvas["course"], canvas["export"]
    set_score(course, "dying_relu", "asmith", 7.5)
    set_score(course, "dying_relu", "bjones", 9.0, penalty=2.0)  # late: nbgrader's penalty is taken off
    set_score(course, "dying_relu", "coneil", 0.0, to_grade=True)
    total = max_score(course, "dying_relu")
    out = course.parent / "canvas-import.csv"
    done = lms(course, "grades", "dying_relu", "--lms", "canvas", "--export", str(export), "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "dying_relu: 1 submissions still need manual grading" in done.stderr and "coneil" in done.stderr, (
        f"the export should warn of the answers still to grade by hand: {done.stderr}"
    )
    rows = read_csv(out)
    assert rows[0] == [*CANVAS_IMPORT_HEADER, "Dying ReLU (4201)"]  # the export's column: the existing assignment
    assert rows[1] == [CANVAS_POINTS_ROW, "", "", "", "", f"{total:g}"]
    assert rows[2:] == [  # sorted as Canvas sorts: last name
        ["Jones, Bob", "1002", "S1002", "bjones", "Section 1", "7"],
        ["Kim, Lee", "1006", "S1006", "lkim", "Section 2", ""],  # no submission: left ungraded for Canvas
        ["Ng, Dave", "1004", "S1004", "DNg@uni.example", "Section 2", ""],  # collected, not yet autograded
        ["O'Neil, Carol", "1003", "S1003", "coneil", "Section 2", "0"],
        ["Smith, Alice", "1001", "S1001", "asmith", "Section 1", "7.5"],
    ]

    default = lms(course, "grades", "dying_relu", "--lms", "canvas")
    assert default.returncode == 0, default.stderr
    rows = read_csv(course / "canvas-grades-dying_relu.csv")
    assert rows[0] == [*CANVAS_IMPORT_HEADER, "dying_relu"]
    assert rows[2] == ["Jones, Bob", "1002", "", "", "", "7"]
    assert "Canvas will create a new assignment 'dying_relu'" in default.stderr


def test_moodle_roster_becomes_nbgrader_students(moodle):
    course, roster = moodle["course"], moodle["roster"]
    assert roster.returncode == 0, roster.stderr
    assert read_csv(course / "roster.csv") == [
        ["id", "first_name", "last_name", "email", "lms_user_id"],
        ["ana", "Ana", "Lima", "ana@uni.example", "20230001"],
        ["bruno", "Bruno", "Costa", "bruno@uni.example", "20230002"],
        ["weiz", "Wei", "Zhang", "weiz@uni.example", "20230003"],
        ["wzhang", "Wei", "Zhang", "wzhang@uni.example", "20230004"],
    ]
    assert "line 6 (Olga Petrov): Email address 'olga.petrov@uni.example' does not give a user name" in roster.stderr
    assert "line 7 (Tom Hart): not a student (Teacher)" in roster.stderr


def test_moodle_download_by_name_then_by_worksheet(moodle):
    course, by_name = moodle["course"], moodle["by_name"]
    log = by_name.stdout + by_name.stderr
    assert by_name.returncode == 0, log
    assert {s: marker_of(t) for s, t in moodle["after_names"].items()} == {
        "ana": "ana again, a day later",
        "bruno": "bruno, flat layout",
    }
    first = "downloaded/leaky_relu/extracted/RELU-Leaky ReLU-77"
    again = f"{first} (1)"
    expected = [
        f"{first}/Ana Lima_301_assignsubmission_file_/leaky_relu.ipynb: ana has another leaky_relu.ipynb, "
        f"{again}/Ana Lima_301_assignsubmission_file_/leaky_relu.ipynb, kept as the newer "
        "(a newer file time in the zip)",
        f"{again}/Bruno Costa_302_assignsubmission_file_leaky_relu.ipynb: the same file as {first}/",
        f"{first}/Wei Zhang_303_assignsubmission_file_/leaky_relu.ipynb: 2 students are named 'Wei Zhang' (weiz, "
        "wzhang): put the assignment's grading worksheet at downloaded/leaky_relu/grading_worksheet.csv",
        f"{first}/Mia Wong_305_assignsubmission_file_/leaky_relu.ipynb: no student named 'Mia Wong' in the gradebook",
        f"{first}/Ana Lima_301_assignsubmission_onlinetext_/onlinetext.html: not a notebook (.html",
    ]
    assert [m for m in expected if m not in log] == []

    by_email = moodle["by_email"]
    log = by_email.stdout + by_email.stderr
    assert by_email.returncode == 0, log
    assert {s: marker_of(t) for s, t in submitted(course, "leaky_relu").items()} == {
        "ana": "ana again, a day later",
        "bruno": "bruno, flat layout",
        "weiz": "wei 303",
        "wzhang": "wei 304",
    }
    assert "participant 305 (Mia Wong, mia@uni.example) is not in the gradebook" in log


def test_moodle_grades_import_format(moodle):
    course = moodle["course"]
    set_score(course, "leaky_relu", "ana", 8.25)
    set_score(course, "leaky_relu", "bruno", 1.0, penalty=3.0)  # the penalty takes it below 0: 0
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="relucourse") as gb:
        gb.add_assignment("convergence")  # released, nobody handed it in yet
    done = lms(course, "grades", "all", "--lms", "moodle")
    assert done.returncode == 0, done.stderr
    rows = read_csv(course / "moodle-grades-all.csv")
    assert rows[0][:4] == MOODLE_IDENTITY and sorted(rows[0][4:]) == ["convergence", "leaky_relu"]
    leaky, convergence = rows[0].index("leaky_relu"), rows[0].index("convergence")
    by_email = {row[3]: (row[2], row[leaky], row[convergence]) for row in rows[1:]}
    assert by_email == {  # no submission: 0, or Moodle's default aggregation would leave it out of the total
        "ana@uni.example": ("20230001", "8.25", "0"),
        "bruno@uni.example": ("20230002", "0", "0"),
        "weiz@uni.example": ("20230003", "0", "0"),
        "wzhang@uni.example": ("20230004", "0", "0"),
    }

    assert lms(course, "grades", "nosuch", "--lms", "moodle").stderr.strip() == (
        "python -m classroom.lms grades: no assignment 'nosuch' in the gradebook (it has: convergence, leaky_relu)"
    )
