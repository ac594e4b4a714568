"""What the tests need to know about the course's layout: read from _toc.yml, never listed twice."""

import json
import re
import shutil
import subprocess
import sys
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


def solution_lines(notebook: Path) -> list[str]:
    """The distinctive lines of a source notebook's solutions and hidden tests that the student copy does not hold."""
    hidden, shown, hiding = [], set(), False
    for cell in json.loads(notebook.read_text())["cells"]:
        for line in "".join(cell["source"]).splitlines():
            marker = re.search(r"(BEGIN|END) (SOLUTION|HIDDEN TESTS)", line)
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
