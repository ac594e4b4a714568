"""``python -m grading bench``: grading throughput, serial nbgrader against the parallel driver, in one run.

For each assignment in ``exercises/``: a temporary course with N generated submissions (in turn the
reference solution, the untouched release and, when ``tests/fixtures/<assignment>/wrong.json`` exists,
its plausible mistake). *Serial* is what ``make grade`` ran before: ``nbgrader generate_assignment
--force``, ``autograde``, ``generate_feedback``, ``export``. *Parallel* is ``python -m grading grade`` on a
copy of the same course. Both use the course's ``nbgrader_config.py`` (sandboxed, guarded kernel), so
the comparison is of the two drivers only; the grades of the two gradebooks must be identical. With
``repeat`` > 1 the two alternate on fresh copies and each keeps its fastest time (as ``timeit`` does:
other work on the machine only ever slows a run down).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

__all__ = ["run_bench", "generate_course", "reference_solutions"]

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _env() -> dict:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def _run(args: list[str], cwd: Path) -> float:
    start = time.monotonic()
    done = subprocess.run(args, cwd=cwd, env=_env(), capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"`{' '.join(args)}` exited with {done.returncode}:\n{done.stderr[-3000:]}")
    return time.monotonic() - start


def reference_solutions(source: nbformat.NotebookNode) -> dict[str, str]:
    """grade_id -> each solution cell of a source notebook as a learner would type it (no BEGIN/END SOLUTION lines)."""
    return {c.metadata.nbgrader["grade_id"]: "\n".join(
                line for line in c.source.split("\n") if not re.search(r"(BEGIN|END) SOLUTION", line))
            for c in source.cells if c.metadata.get("nbgrader", {}).get("solution")}


def generate_course(folder: Path, assignment: str, submissions: int) -> None:
    """A course in `folder` with `submissions` generated submissions of `assignment`."""
    if submissions < 1:
        raise ValueError(f"Invalid number of submissions: {submissions} (expected at least 1)")
    shutil.copy(ROOT / "nbgrader_config.py", folder)
    shutil.copytree(ROOT / "exercises" / assignment, folder / "exercises" / assignment,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    _run([str(BIN / "nbgrader"), "generate_assignment", assignment], folder)
    wrong_path = ROOT / "tests" / "fixtures" / assignment / "wrong.json"
    wrong = json.loads(wrong_path.read_text())["cells"] if wrong_path.exists() else None
    variants = ["reference", "release"] + (["wrong"] if wrong else [])
    for name in sorted(p.name for p in (folder / "release" / assignment).glob("*.ipynb")):
        source = nbformat.read(folder / "exercises" / assignment / name, as_version=4)
        solutions = reference_solutions(source)
        for number in range(submissions):
            variant = variants[number % len(variants)]
            nb = nbformat.read(folder / "release" / assignment / name, as_version=4)
            for cell in nb.cells:
                grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
                if variant != "release" and cell.metadata.get("nbgrader", {}).get("solution"):
                    cell.source = (wrong or {}).get(grade_id, solutions[grade_id]) if variant == "wrong" else solutions[grade_id]
            student = f"{variant}{number:03d}"
            (folder / "submitted" / student / assignment).mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, folder / "submitted" / student / assignment / name)


def _grades(folder: Path, assignment: str) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{folder / 'gradebook.db'}", course_id="relucourse") as gb:
        return {(s.student.id, g.notebook.name, g.name): g.auto_score
                for s in gb.assignment_submissions(assignment) for nb in s.notebooks for g in nb.grades}


def bench_assignment(assignment: str, submissions: int, jobs: int, repeat: int = 1) -> tuple[float, float, bool]:
    """(serial seconds, parallel seconds, identical grades) for one assignment; the fastest of `repeat` runs each."""
    if repeat < 1:
        raise ValueError(f"Invalid repeat: {repeat} (expected at least 1)")
    with tempfile.TemporaryDirectory(prefix=f"bench-{assignment}-") as tmp:
        base = Path(tmp) / "base"
        base.mkdir()
        generate_course(base, assignment, submissions)
        nbgrader, serial_times, parallel_times, same = str(BIN / "nbgrader"), [], [], True
        for round_ in range(repeat):
            serial, parallel = Path(tmp) / f"serial{round_}", Path(tmp) / f"parallel{round_}"
            shutil.copytree(base, serial)
            shutil.copytree(base, parallel)
            serial_times.append(sum(_run([nbgrader, *step], serial) for step in (
                ["generate_assignment", assignment, "--force"], ["autograde", assignment],
                ["generate_feedback", assignment], ["export", "--to", "grades.csv"])))
            parallel_times.append(_run([sys.executable, "-m", "grading", "grade", assignment, "--root", str(parallel),
                                        "--jobs", str(jobs), "--no-progress"], ROOT))
            same = same and _grades(serial, assignment) == _grades(parallel, assignment)
            shutil.rmtree(serial, ignore_errors=True)
            shutil.rmtree(parallel, ignore_errors=True)
        return min(serial_times), min(parallel_times), same


def run_bench(submissions: int = 12, jobs: int | None = None, assignments: list[str] | None = None,
              repeat: int = 1) -> int:
    """Print the comparison for each assignment and in total; 1 if any grades differ."""
    jobs = jobs or len(os.sched_getaffinity(0))
    names = assignments or sorted(p.name for p in (ROOT / "exercises").iterdir() if p.is_dir())
    print(f"grading {submissions} generated submissions per assignment; parallel driver with {jobs} workers "
          f"on {len(os.sched_getaffinity(0))} cores; fastest of {repeat} alternating runs each")
    print(f"{'assignment':<16}{'serial s':>10}{'parallel s':>12}{'ratio':>8}  identical grades")
    total_serial = total_parallel = 0.0
    same_everywhere = True
    for name in names:
        serial_s, parallel_s, same = bench_assignment(name, submissions, jobs, repeat)
        total_serial, total_parallel, same_everywhere = total_serial + serial_s, total_parallel + parallel_s, same_everywhere and same
        print(f"{name:<16}{serial_s:>10.1f}{parallel_s:>12.1f}{serial_s / parallel_s:>7.2f}x  {'yes' if same else 'NO'}")
    count = submissions * len(names)
    print(f"{'all':<16}{total_serial:>10.1f}{total_parallel:>12.1f}{total_serial / total_parallel:>7.2f}x  "
          f"{'yes' if same_everywhere else 'NO'}")
    print(f"throughput: serial {60 * count / total_serial:.1f}, parallel {60 * count / total_parallel:.1f} submissions/minute")
    return 0 if same_everywhere else 1
