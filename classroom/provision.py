"""What the machine needs before the hub starts: accounts, the exchange, every account's nbgrader configuration,
a course directory that students cannot read, and the roster in the gradebook. Each step is idempotent."""

from __future__ import annotations

import os
import pwd
import stat
import subprocess
from dataclasses import asdict
from pathlib import Path

from classroom.course import COURSE_ID, Course
from classroom.gradebook import enroll

# The folders in the exchange and their modes: anyone may create the course's entries but list none of them.
EXCHANGE_MODES = {
    "": 0o1777,
    COURSE_ID: 0o755,
    f"{COURSE_ID}/outbound": 0o755,
    f"{COURSE_ID}/inbound": 0o1733,
    f"{COURSE_ID}/feedback": 0o711,
}
# What an account other than root may read in the course directory: the environment and the packages it imports.
READABLE = (".venv", "relucourse", "classroom")
# Generated paths, made private before anything writes them (a folder's mode covers all that is put in it later).
PRIVATE_FOLDERS = ("submitted", "autograded", "feedback", "release", "downloaded", ".grading")
PRIVATE_FILES = ("grades.csv", ".nbgrader.log")
GLOBAL_CONFIG = Path("/etc/jupyter/nbgrader_config.py")
PROFILE = Path("/etc/profile.d/relucourse.sh")


def ensure_accounts(names: list[str]) -> list[str]:
    """A Unix account with a private home for each name that has none; returns the names created."""
    created = []
    for name in names:
        try:
            pwd.getpwnam(name)
        except KeyError:
            subprocess.run(["useradd", "--create-home", "--user-group", "--shell", "/bin/bash", name], check=True)
            created.append(name)
        os.chmod(pwd.getpwnam(name).pw_dir, 0o700)
    return created


def make_exchange(root: Path) -> list[str]:
    """The exchange's folders with the modes nbgrader and privacy need; returns what was created or corrected."""
    changed = []
    for relative, mode in EXCHANGE_MODES.items():
        path = root / relative
        if not path.is_dir():
            path.mkdir(parents=True)
            changed.append(f"created {path}")
        info = path.stat()
        if stat.S_IMODE(info.st_mode) != mode or info.st_uid != 0:
            os.chown(path, 0, 0)
            os.chmod(path, mode)
            changed.append(f"{path}: mode {mode:o}")
    return changed


def global_config(course: Course) -> str:
    return f'''"""Every account's nbgrader configuration for the course on this machine. Written by `make hub`
(classroom/provision.py): edit the course's nbgrader_config.py instead, and run `make hub` again."""

c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "{COURSE_ID}"
c.Exchange.root = "{course.exchange}"
# the private exchange (classroom/exchange.py): submissions and feedback readable by their student alone
c.ExchangeFactory.submit = "classroom.exchange.PrivateSubmit"
c.ExchangeFactory.collect = "classroom.exchange.ReceivedCollect"
c.ExchangeFactory.release_feedback = "classroom.exchange.PrivateReleaseFeedback"
'''


def write_global_config(course: Course) -> None:
    """/etc/jupyter/nbgrader_config.py, read by every account's nbgrader, and the course's tools on login PATHs."""
    GLOBAL_CONFIG.parent.mkdir(parents=True, exist_ok=True)
    GLOBAL_CONFIG.write_text(global_config(course))
    GLOBAL_CONFIG.chmod(0o644)
    PROFILE.write_text(
        f'# the course environment\'s nbgrader and jupyter first (make hub)\nPATH="{course.bin}:$PATH"\n'
    )
    PROFILE.chmod(0o644)


def protect_course_dir(course_dir: Path) -> list[str]:
    """Students may reach the environment and nothing else: not exercises/, the gradebook, submissions, grades."""
    changed = []
    for name in PRIVATE_FOLDERS:
        (course_dir / name).mkdir(mode=0o700, exist_ok=True)
    for name in PRIVATE_FILES:
        (course_dir / name).touch(mode=0o600)
    for entry in course_dir.iterdir():
        if entry.name not in READABLE and not entry.is_symlink():
            mode = stat.S_IMODE(entry.stat().st_mode)
            if mode & 0o077:
                entry.chmod(mode & 0o700)
                changed.append(entry.name)
    course_dir.chmod(0o711)
    return changed


def open_the_way(paths: list[Path]) -> list[str]:
    """Let every account traverse (not list) the folders above the environment: o+x where it is missing."""
    changed = []
    for path in paths:
        for folder in reversed(path.resolve().parents):
            mode = stat.S_IMODE(folder.stat().st_mode)
            if not mode & 0o001:
                folder.chmod(mode | 0o001)
                changed.append(str(folder))
    return changed


def import_roster(course: Course) -> None:
    """The students into the course's gradebook (the one the hub was given, else the course's nbgrader_config.py's)."""
    os.environ["PATH"] = f"{course.bin}:{os.environ.get('PATH', '/usr/bin:/bin')}"  # nbgrader runs `alembic` by name
    enroll(Path(course.course_dir), [asdict(s) for s in course.students], course.db_url)
    gradebook = Path(course.course_dir) / "gradebook.db"
    if gradebook.exists():
        gradebook.chmod(0o600)


def provision(course: Course) -> list[str]:
    """Every step, in order; returns what it did, for the terminal."""
    done = []
    created = ensure_accounts(list(course.instructors) + course.student_ids)
    if created:
        done.append(f"created {len(created)} accounts: {', '.join(created[:5])}{' …' if len(created) > 5 else ''}")
    done += make_exchange(Path(course.exchange))
    write_global_config(course)
    done.append(f"wrote {GLOBAL_CONFIG} (course {COURSE_ID}, exchange {course.exchange})")
    import_roster(course)
    done.append(f"{len(course.students)} students in the gradebook")
    private = protect_course_dir(Path(course.course_dir))
    if private:
        done.append(f"made private in the course directory: {', '.join(sorted(private))}")
    opened = open_the_way([Path(course.python).parent, Path(os.path.realpath(course.python)), Path(course.course_dir)])
    if opened:
        done.append(f"made traversable (o+x) for the accounts to reach the environment: {', '.join(opened)}")
    Path(course.state_dir).mkdir(mode=0o700, parents=True, exist_ok=True)
    return done
