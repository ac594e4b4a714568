"""A real JupyterHub for the course, for tests: `python -m classroom hub` on loopback, real accounts, PostgreSQL.

`Hub.start()` copies the course into a folder every account may traverse, starts a PostgreSQL server (Debian's
postgresql, password-protected, on 127.0.0.1) for the gradebook, runs the hub as `make hub` does, and gives
each account it created a password; `Hub.stop()` stops everything and removes the accounts, the exchange and
the nbgrader configuration it wrote (putting back what was there before).
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import requests
from course import ROOT, copy_course
from nbgrader.api import Gradebook

from grading.bench import reference_solutions

COURSE = "relucourse"
BIN = Path(sys.executable).parent
SYSTEM_FILES = (Path("/etc/jupyter/nbgrader_config.py"), Path("/etc/profile.d/relucourse.sh"))
MARK = "relucourse hub test account"  # the comment (GECOS) of each account the tests had make hub create


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def as_user(user: str, command: str, check: bool = True) -> subprocess.CompletedProcess:
    """`command` in a login shell of `user` (their home, their PATH), as a student at a terminal."""
    done = subprocess.run(["su", "-", user, "-c", command], capture_output=True, text=True, timeout=180)
    if check and done.returncode:
        raise AssertionError(f"{user}$ {command}\n{done.stdout}{done.stderr}")
    return done


def nbgrader_as_root(hub: Hub, *args: str) -> subprocess.CompletedProcess:
    """The instructor's nbgrader, as root in the course directory."""
    done = subprocess.run(
        [str(BIN / "nbgrader"), *args],
        cwd=hub.course_dir,
        env=hub.root_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode:
        raise AssertionError(f"nbgrader {' '.join(args)}\n{done.stdout}{done.stderr}")
    return done


def collect_and_grade(hub: Hub, assignment: str) -> subprocess.CompletedProcess:
    """The instructor's path after the due date: nbgrader's collect, then `make grade`, as root in the course."""
    nbgrader_as_root(hub, "collect", assignment, "--update")
    graded = subprocess.run(
        [sys.executable, "-m", "grading", "grade", assignment, "--no-progress", "--jobs", "2"],
        cwd=hub.course_dir,
        env=hub.root_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if graded.returncode:
        raise AssertionError(f"make grade {assignment}\n{graded.stdout}{graded.stderr}")
    return graded


def remove_account(name: str, only_if_marked: bool = True) -> None:
    """Remove an account (and its processes); one not marked as the tests' only if `only_if_marked` is False."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return
    if only_if_marked and entry.pw_gecos != MARK:
        raise AssertionError(
            f"an account {name!r} exists that the hub tests did not make: remove it or rename the test's"
        )
    subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True)
    subprocess.run(["userdel", "--remove", name], capture_output=True)


class Postgres:
    """A PostgreSQL server of Debian's packages, on 127.0.0.1, owned by the `postgres` account, with a password."""

    def __init__(self, folder: Path):
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        assert bins, "PostgreSQL is missing: apt-get install postgresql (make test installs it as root)"
        self.bin, self.data, self.port = bins[-1].parent, folder / "data", free_port()
        self.password = secrets.token_hex(12)
        folder.mkdir()
        shutil.chown(folder, "postgres")
        (folder / "pw").write_text(self.password)
        shutil.chown(folder / "pw", "postgres")
        self._as_postgres(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=scram-sha-256",
            f"--pwfile={folder / 'pw'}",
            "-E",
            "UTF8",
        )
        self._as_postgres(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-w",
            "-l",
            str(folder / "log"),
            "-o",
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {folder}",
            "start",
        )
        subprocess.run(
            [str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", COURSE],
            env={**os.environ, "PGPASSWORD": self.password},
            check=True,
        )

    @property
    def url(self) -> str:
        return f"postgresql://postgres:{self.password}@127.0.0.1:{self.port}/{COURSE}"

    def _as_postgres(self, *command: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *command], check=True, capture_output=True, cwd="/")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")


@dataclass
class Hub:
    students: list[str]
    instructor: str
    base: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="relucourse-hub-")))
    port: int = field(default_factory=free_port)
    settings: str = ""  # lines added to the course's nbgrader_config.py before the hub starts
    passwords: dict[str, str] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)
    _sessions: dict[str, requests.Session] = field(default_factory=dict)
    _labs: dict[str, Lab] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def course_dir(self) -> Path:
        return self.base / "course"

    @property
    def exchange(self) -> Path:
        return self.base / "exchange"

    @property
    def root_env(self) -> dict[str, str]:
        return {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "RELUCOURSE_DB_URL": self.postgres.url}

    @property
    def db_url_without_password(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.postgres.port}/{COURSE}"

    def start(self) -> None:
        self.base.chmod(0o711)
        self._saved = {path: path.read_bytes() if path.exists() else None for path in SYSTEM_FILES}
        for name in [*self.students, self.instructor]:
            remove_account(name)  # left by an earlier run that was killed
        self.created = [*self.students, self.instructor]
        copy_course(self.course_dir)
        with open(self.course_dir / "nbgrader_config.py", "a") as handle:
            handle.write(f"\n{self.settings}\n")
        self.postgres = Postgres(self.base / "pg")
        roster = self.base / "roster.csv"
        with roster.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["id", "first_name", "last_name", "email"])
            writer.writerows([s, s.split("-")[-1].title(), "Student", f"{s}@example.org"] for s in self.students)
        self.log = (self.base / "hub.log").open("w")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "classroom",
                "hub",
                "--course-dir",
                str(self.course_dir),
                "--roster",
                str(roster),
                "--instructors",
                self.instructor,
                "--exchange",
                str(self.exchange),
                "--port",
                str(self.port),
                "--service-port",
                str(free_port()),
                "--hub-port",
                str(free_port()),
                "--proxy-api-port",
                str(free_port()),
                "--state-dir",
                str(self.base / "state"),
                "--db-url",
                self.postgres.url,
            ],
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.wait_for(lambda: requests.get(f"{self.url}hub/api/", timeout=2).ok, "the hub to answer", 90)
        for name in self.created:  # make hub created them
            subprocess.run(["usermod", "--comment", MARK, name], check=True)
            self.passwords[name] = secrets.token_urlsafe(12)
            subprocess.run(["chpasswd"], input=f"{name}:{self.passwords[name]}\n", text=True, check=True)

    def wait_for(self, ready, what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                if ready():
                    return
            if self.process.poll() is not None:
                raise AssertionError(f"the hub stopped while waiting for {what}:\n{self.log_text()}")
            time.sleep(0.5)
        raise AssertionError(f"timed out waiting for {what}:\n{self.log_text()}")

    def log_text(self) -> str:
        self.log.flush()
        return (self.base / "hub.log").read_text()[-6000:]

    def stop(self) -> None:
        if getattr(self, "process", None) and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        proxy = self.base / "state" / "jupyterhub-proxy.pid"  # the hub starts its proxy in a session of its own
        with contextlib.suppress(OSError, ValueError):
            os.kill(int(proxy.read_text()), signal.SIGTERM)
        if getattr(self, "postgres", None):
            self.postgres.stop()
        for name in self.created:  # absent before start(): made by this run's hub
            remove_account(name, only_if_marked=False)
        for path, content in getattr(self, "_saved", {}).items():
            if content is None:
                path.unlink(missing_ok=True)
            else:
                path.write_bytes(content)
        shutil.rmtree(self.base, ignore_errors=True)

    def session(self, user: str) -> requests.Session:
        """A browser-like session of `user`, logged in through the hub's login form (PAM)."""
        if user not in self._sessions:
            session = requests.Session()
            session.get(f"{self.url}hub/login")
            answer = session.post(
                f"{self.url}hub/login",
                data={"username": user, "password": self.passwords[user], "_xsrf": session.cookies.get("_xsrf")},
            )
            assert "jupyterhub-session-id" in session.cookies, f"{user} could not log in: {answer.status_code}"
            self._sessions[user] = session
        return self._sessions[user]

    def lab(self, user: str) -> Lab:
        if user not in self._labs:
            self._labs[user] = Lab(self, user)
        return self._labs[user]

    @contextlib.contextmanager
    def gradebook(self):
        with Gradebook(self.postgres.url, course_id=COURSE) as gb:
            yield gb

    @property
    def solutions(self) -> dict[str, str]:
        source = nbformat.read(ROOT / "exercises" / "dying_relu" / "dying_relu.ipynb", as_version=4)
        return reference_solutions(source)

    @property
    def wrong(self) -> dict[str, str]:
        return json.loads((ROOT / "tests" / "fixtures" / "dying_relu" / "wrong.json").read_text())["cells"]


class Lab:
    """A user's server, started through the hub's API, and requests to it as that user's browser makes them."""

    def __init__(self, hub: Hub, user: str):
        self.hub, self.user, self.session = hub, user, hub.session(user)
        self.base = f"{hub.url}user/{user}/"
        started = self.session.post(
            f"{hub.url}hub/api/users/{user}/server",
            headers={"X-XSRFToken": self.session.cookies.get("_xsrf", path="/hub/")},
        )
        assert started.status_code in (201, 202, 400), (started.status_code, started.text)
        hub.wait_for(
            lambda: self.session.get(f"{hub.url}hub/api/users/{user}").json()["servers"][""]["ready"],
            f"{user}'s server",
            120,
        )
        page = self.session.get(f"{self.base}lab")  # the OAuth round trip that sets the server's cookie
        assert page.ok, (page.status_code, page.url)

    def get(self, path: str, **kwargs) -> requests.Response:
        answer = self.session.get(self.base + path, **kwargs)
        assert answer.ok, (path, answer.status_code, answer.text[:500])
        return answer

    def post(self, path: str, data: dict) -> requests.Response:
        xsrf = self.session.cookies.get("_xsrf", path=f"/user/{self.user}/")
        answer = self.session.post(self.base + path, data=data, headers={"X-XSRFToken": xsrf})
        assert answer.ok, (path, answer.status_code, answer.text[:500])
        return answer
