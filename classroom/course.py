"""The class a hub serves: its course id, directories, instructors and students, and the groups nbgrader reads."""

from __future__ import annotations

import csv
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

COURSE_ID = "relucourse"
STUDENTS_GROUP = f"nbgrader-{COURSE_ID}"  # nbgrader's name for a course's students
INSTRUCTORS_GROUP = f"formgrade-{COURSE_ID}"  # and for its graders: they reach the formgrader service
ROSTER_COLUMNS = ("id", "first_name", "last_name", "email")  # nbgrader's student CSV
# A Unix and hub user name: what useradd accepts on Debian, and no '+' or '*' (nbgrader's exchange splits on them).
USER_NAME = re.compile(r"[a-z_][a-z0-9_-]{0,31}")


@dataclass(frozen=True)
class Student:
    id: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""


@dataclass(frozen=True)
class Course:
    """Everything the hub's configuration depends on; it travels to the hub as JSON (`to_json`, `from_json`)."""

    course_dir: str  # the repository: exercises/, the gradebook, make grade
    python: str  # the course environment's interpreter; every user server runs from it
    exchange: str = "/srv/nbgrader/exchange"
    instructors: tuple[str, ...] = ("instructor",)
    students: tuple[Student, ...] = field(default_factory=tuple)
    ip: str = "127.0.0.1"
    port: int = 8000
    service_port: int = 9999  # the formgrader service, on loopback
    hub_port: int = 8081  # the hub itself and the proxy's API, on loopback
    proxy_api_port: int = 8001
    db_url: str = ""  # the gradebook; empty: the course's nbgrader_config.py decides (SQLite by default)
    state_dir: str = "/srv/jupyterhub"  # the hub's own database, cookie secret, proxy pid and course.json

    @property
    def student_ids(self) -> list[str]:
        return [s.id for s in self.students]

    @property
    def bin(self) -> Path:
        return Path(self.python).parent

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Course:
        data = json.loads(text)
        data["instructors"] = tuple(data["instructors"])
        data["students"] = tuple(Student(**s) for s in data["students"])
        return cls(**data)


class RosterError(ValueError):
    """A roster that cannot be used as it is; the message names the file, the line and the problem."""


def read_roster(path: Path) -> tuple[Student, ...]:
    """nbgrader's student CSV (id,first_name,last_name,email; other columns ignored), every id a valid user name."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or "id" not in reader.fieldnames:
            raise RosterError(
                f"{path}: the first line must name the columns, among them 'id' "
                f"(nbgrader's student CSV: {','.join(ROSTER_COLUMNS)})"
            )
        students, seen = [], set()
        for line, row in enumerate(reader, start=2):
            student_id = (row.get("id") or "").strip()
            if not USER_NAME.fullmatch(student_id):
                raise RosterError(
                    f"{path}, line {line}: {student_id!r} is not a valid user name "
                    "(lower-case letters, digits, '_' or '-', at most 32, starting with a letter)"
                )
            if student_id in seen:
                raise RosterError(f"{path}, line {line}: student {student_id!r} is listed twice")
            seen.add(student_id)
            students.append(Student(student_id, *((row.get(k) or "").strip() for k in ROSTER_COLUMNS[1:])))
    return tuple(students)


def check_user_names(names: list[str], what: str) -> None:
    for name in names:
        if not USER_NAME.fullmatch(name):
            raise RosterError(f"{what}: {name!r} is not a valid user name")
