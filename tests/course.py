"""What the tests need to know about the course's layout: read from _toc.yml, never listed twice."""

import contextlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def toc_files() -> list[str]:
    """Every file the table of contents lists, in order, without suffix (as _toc.yml writes them)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part["chapters"]]
    return files


def lessons() -> list[Path]:
    return [ROOT / f"{name}.md" for name in toc_files() if name.startswith("lessons/")]


def assignments() -> list[str]:
    return sorted(p.name for p in (ROOT / "exercises").iterdir() if p.is_dir())


def exercise_source(name: str) -> Path | None:
    """The nbgrader source notebook of a toc entry `release/<a>/<nb>`, or None if the entry is not an exercise."""
    parts = Path(name).parts
    return ROOT / "exercises" / parts[1] / f"{parts[2]}.ipynb" if len(parts) == 3 and parts[0] == "release" else None


def manual_answers(nb) -> list:
    """The cells of a notebook (a NotebookNode) a grader scores by hand: nbgrader's "Manually graded answer"."""
    return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade") and c.metadata.nbgrader.get("solution")]


def autograded_points(nb) -> float:
    """What a notebook's test cells are worth: the points that autograde decides, without the answers graded by hand."""
    graded = [c.metadata.nbgrader for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    return sum(float(m["points"]) for m in graded if not m.get("solution"))


def solution_lines(notebook: Path) -> list[str]:
    """The distinctive lines of a source notebook's solutions, hidden tests and graders' rubrics (mark schemes)
    that the student copy does not hold."""
    hidden, shown, hiding = [], set(), False
    for cell in json.loads(notebook.read_text())["cells"]:
        for line in "".join(cell["source"]).splitlines():
            marker = re.search(r"(BEGIN|END) (SOLUTION|HIDDEN TESTS|MARK SCHEME)", line)
            if marker:
                hiding = marker.group(1) == "BEGIN"
            elif hiding and len(line.strip()) > 25:
                hidden.append(line.strip())
            elif not hiding:
                shown.add(line.strip())
    return [line for line in hidden if line not in shown]


def copy_course(destination: Path) -> Path:
    """Copy the working tree as a new clone would have it (tracked and new files, nothing ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in listed:
        if (ROOT / name).is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, destination / name)
    return destination


def venv_env() -> dict[str, str]:
    """This environment with the virtual environment's bin/ first on PATH (nbgrader runs `alembic` by name)."""
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def released_course(course: Path, assignment: str, config_extra: str = "") -> Path:
    """`course` made a course of one assignment (the repository's nbgrader_config.py, plus `config_extra`), released
    with nbgrader's generate_assignment."""
    (course / "nbgrader_config.py").write_text((ROOT / "nbgrader_config.py").read_text() + config_extra)
    shutil.copytree(
        ROOT / "exercises" / assignment,
        course / "exercises" / assignment,
        ignore=shutil.ignore_patterns(".ipynb_checkpoints"),
    )
    subprocess.run(
        [str(Path(sys.executable).parent / "nbgrader"), "generate_assignment", assignment],
        cwd=course,
        env=venv_env(),
        check=True,
        capture_output=True,
        timeout=300,
    )
    return course


def generated_folders() -> list[str]:
    """The folders .gitignore lists that a course directory may hold besides the book's own (release/ is a page source)."""
    names = [
        line.strip().rstrip("/")
        for line in (ROOT / ".gitignore").read_text().splitlines()
        if line.strip().endswith("/")
    ]
    return [name for name in names if "*" not in name and name not in ("release", "_build", ".venv")]


def plant_leftovers(course: Path) -> list[Path]:
    """Put a notebook in each generated folder, as grading runs and JupyterLab leave them (a scratch course's copy)."""
    notebook = next((ROOT / "exercises" / assignments()[0]).glob("*.ipynb"))
    planted = [course / folder / "leftover" / notebook.parent.name / notebook.name for folder in generated_folders()]
    for path in planted:
        path.parent.mkdir(parents=True)
        shutil.copy(notebook, path)
    return planted


def build_book(course: Path) -> str:
    """Run `make book`'s builder in `course`; return its log."""
    done = subprocess.run(
        [sys.executable, "tools/build_book.py"], cwd=course, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, f"the book did not build:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout + done.stderr


@contextlib.contextmanager
def formgrader_server(course: Path, home: Path):
    """JupyterLab and the formgrader serving `course`, with the hub's formgrader service's settings: (URL, token)."""
    from classroom.hubconfig import FORMGRADER_CONFIG

    token, bin_dir = secrets.token_hex(16), Path(sys.executable).parent
    command = [
        str(bin_dir / "jupyter-lab"),
        "--no-browser",
        "--ip=127.0.0.1",
        "--port=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={course}",
        "--LabApp.news_url=None",
        "--LabApp.extension_manager=readonly",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")  # CI runs as root
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_CONFIG_PATH": str(FORMGRADER_CONFIG),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
    }
    log = open(home / "server.log", "w")
    process = subprocess.Popen(command, cwd=course, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while not list((home / "runtime").glob("jpserver-*.json")):  # port 0: the server writes the one it got
            assert process.poll() is None and time.monotonic() < deadline, (home / "server.log").read_text()[-3000:]
            time.sleep(0.5)
        info = json.loads(next((home / "runtime").glob("jpserver-*.json")).read_text())
        yield f"http://127.0.0.1:{info['port']}", token
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
