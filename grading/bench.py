"""``python -m grading bench``: ``make grade`` against stock nbgrader, side by side in one run, and the limit.

For each assignment in ``exercises/``: a temporary course with N generated submissions (in turn the
reference solution, the untouched release, half of the answers). *Stock* is what a course without this
one runs: nbgrader 0.9.6's ``generate_assignment``, ``autograde`` and ``generate_feedback`` with nbgrader's
default configuration (no sandbox, no guard). *make grade* is ``python -m grading grade`` on a copy of the
same course (pre-check, sandboxed and guarded kernels, feedback, ``grades.csv``). The two gradebooks'
scores must be identical. The *lower bound* is the time the graded notebooks' cells take one after the
other in one warm interpreter, divided among the workers: what grading would cost with no kernel, sandbox
or nbgrader at all. The memory is the largest of one worker with its kernel server and kernel (PSS).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import nbformat

__all__ = ["run_bench", "generate_course", "reference_solutions", "bench_assignment", "make_grade", "Graded", "Result"]

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
    return {
        c.metadata.nbgrader["grade_id"]: "\n".join(
            line for line in c.source.split("\n") if not re.search(r"(BEGIN|END) SOLUTION", line)
        )
        for c in source.cells
        if c.metadata.get("nbgrader", {}).get("solution")
    }


def generate_course(folder: Path, assignment: str, submissions: int, wrong: dict[str, str] | None = None) -> None:
    """A course in `folder` with `submissions` generated submissions of `assignment`.

    In turn: the reference solution, the untouched release, and `wrong` (grade_id -> a plausible mistake, the
    other cells solved) or, without it, the first half of the solution cells solved and the rest left as released.
    """
    if submissions < 1:
        raise ValueError(f"Invalid number of submissions: {submissions} (expected at least 1)")
    shutil.copy(ROOT / "nbgrader_config.py", folder)
    shutil.copytree(
        ROOT / "exercises" / assignment,
        folder / "exercises" / assignment,
        ignore=shutil.ignore_patterns(".ipynb_checkpoints"),
    )
    _run([str(BIN / "nbgrader"), "generate_assignment", assignment], folder)
    variants = ["reference", "release", "wrong" if wrong else "partial"]
    for name in sorted(p.name for p in (folder / "release" / assignment).glob("*.ipynb")):
        solutions = reference_solutions(nbformat.read(folder / "exercises" / assignment / name, as_version=4))
        answers = {
            "reference": solutions,
            "release": {},
            "wrong": {**solutions, **(wrong or {})},
            "partial": dict(list(solutions.items())[: len(solutions) // 2]),
        }
        for number in range(submissions):
            variant = variants[number % len(variants)]
            nb = nbformat.read(folder / "release" / assignment / name, as_version=4)
            for cell in nb.cells:
                grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
                if cell.metadata.get("nbgrader", {}).get("solution") and grade_id in answers[variant]:
                    cell.source = answers[variant][grade_id]
            student = f"{variant}{number:03d}"
            (folder / "submitted" / student / assignment).mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, folder / "submitted" / student / assignment / name)


def _grades(folder: Path, assignment: str) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{folder / 'gradebook.db'}", course_id="relucourse") as gb:
        return {
            (s.student.id, g.notebook.name, g.name): g.auto_score
            for s in gb.assignment_submissions(assignment)
            for nb in s.notebooks
            for g in nb.grades
        }


STOCK_CONFIG = """c = get_config()
c.CourseDirectory.course_id = "relucourse"
c.CourseDirectory.source_directory = "exercises"
c.ClearMarkScheme.enforce_metadata = False  # the rubrics sit in locked cells, as graders see them (nbgrader_config.py)
"""  # what a course without this one runs: nbgrader's defaults


def _stock(course: Path, assignment: str) -> float:
    """Seconds of stock nbgrader 0.9.6 on `course`: generate_assignment, autograde, generate_feedback."""
    (course / "nbgrader_config.py").write_text(STOCK_CONFIG)
    nbgrader = str(BIN / "nbgrader")
    return sum(
        _run([nbgrader, *step], course)
        for step in (
            ["generate_assignment", assignment, "--force"],
            ["autograde", assignment],
            ["generate_feedback", assignment],
        )
    )


class Graded(NamedTuple):
    """One ``python -m grading grade`` run: its wall seconds, the largest memory of one worker (MiB, PSS), its output."""

    seconds: float
    memory: float
    output: str


def make_grade(course: Path, assignment: str, jobs: int) -> Graded:
    """``python -m grading grade`` (``make grade``) on `course` with `jobs` workers, timed and its workers' memory
    sampled; a RuntimeError with its output if it fails."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "grading",
            "grade",
            assignment,
            "--root",
            str(course),
            "--jobs",
            str(jobs),
            "--no-progress",
        ],
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    start, peak = time.monotonic(), 0.0
    while process.poll() is None:
        peak = max(peak, *_worker_memory(process.pid).values(), 0.0)
        time.sleep(0.2)
    seconds = time.monotonic() - start
    out, err = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"make grade exited with {process.returncode}:\n{out[-1500:]}\n{err[-1500:]}")
    return Graded(seconds, peak, out)


def _worker_memory(driver: int) -> dict[int, float]:
    """MiB (proportional set size) of each worker of the driver with everything it started: server, kernel."""
    children: dict[int, list[int]] = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            parent = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry))

    def pss(pid: int) -> float:
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            rollup = ""
        own = sum(int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:")) / 1024
        return own + sum(pss(child) for child in children.get(pid, []))

    return {worker: pss(worker) for worker in children.get(driver, [])}


LOWER_BOUND = """
import glob, sys, time
import nbformat, numpy, torch
from IPython.core.inputtransformer2 import TransformerManager
torch.set_num_threads(1)
translate, total = TransformerManager().transform_cell, 0.0
for path in sorted(glob.glob(sys.argv[1] + "/autograded/*/*/*.ipynb")):
    nb = nbformat.read(path, as_version=4)
    namespace = {"__name__": "__main__"}
    start = time.perf_counter()
    for cell in nb.cells:
        if cell.cell_type == "code":
            try:
                exec(compile(translate(cell.source), "<cell>", "exec"), namespace)
            except Exception:
                pass
    total += time.perf_counter() - start
print(total)
"""


def _lower_bound(course: Path) -> float:
    """Seconds to run every graded notebook's cells (hidden tests included) one after the other in one warm
    interpreter: no kernel, no sandbox, no nbgrader."""
    done = subprocess.run(
        [sys.executable, "-c", LOWER_BOUND, str(course)], cwd=course, env=_env(), capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"the lower bound's run failed:\n{done.stderr[-2000:]}")
    return float(done.stdout.strip().splitlines()[-1])


@dataclass
class Result:
    stock: float  # seconds
    driver: float
    lower_bound: float  # seconds of the cells alone, in one interpreter
    memory: float  # MiB, the largest worker
    same: bool


def bench_assignment(assignment: str, submissions: int, jobs: int) -> Result:
    """Stock nbgrader and ``make grade`` side by side on one generated course of `assignment`."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{assignment}-") as tmp:
        base, stock, driver = Path(tmp) / "base", Path(tmp) / "stock", Path(tmp) / "driver"
        base.mkdir()
        generate_course(base, assignment, submissions)
        shutil.copytree(base, stock)
        shutil.copytree(base, driver)
        stock_s = _stock(stock, assignment)
        driver_s, memory, _ = make_grade(driver, assignment, jobs)
        return Result(
            stock_s, driver_s, _lower_bound(driver), memory, _grades(stock, assignment) == _grades(driver, assignment)
        )


def run_bench(submissions: int = 24, jobs: int | None = None, assignments: list[str] | None = None) -> int:
    """Print the comparison for each assignment and in total; 1 if any grades differ."""
    cores = len(os.sched_getaffinity(0))
    jobs = jobs or cores
    names = assignments or sorted(p.name for p in (ROOT / "exercises").iterdir() if p.is_dir())
    print(
        f"grading {submissions} generated submissions per assignment on {cores} cores: stock nbgrader 0.9.6 "
        f"(autograde + generate_feedback, default configuration) against make grade ({jobs} workers)"
    )
    print(
        f"{'assignment':<16}{'stock s':>9}{'make grade s':>14}{'ratio':>8}{'cells alone s':>15}"
        f"{'worker MiB':>12}  identical grades"
    )
    results = []
    for name in names:
        r = bench_assignment(name, submissions, jobs)
        results.append(r)
        print(
            f"{name:<16}{r.stock:>9.1f}{r.driver:>14.1f}{r.stock / r.driver:>7.1f}x{r.lower_bound:>15.1f}"
            f"{r.memory:>12.0f}  {'yes' if r.same else 'NO'}"
        )
    stock, driver, bound = (sum(getattr(r, k) for r in results) for k in ("stock", "driver", "lower_bound"))
    count = submissions * len(names)
    same = all(r.same for r in results)
    print(
        f"{'all':<16}{stock:>9.1f}{driver:>14.1f}{stock / driver:>7.1f}x{bound:>15.1f}"
        f"{max(r.memory for r in results):>12.0f}  {'yes' if same else 'NO'}"
    )
    print(
        f"throughput: stock {60 * count / stock:.0f}, make grade {60 * count / driver:.0f} submissions/minute; "
        f"lower bound (the cells alone, one warm interpreter per core) {bound / jobs:.1f} s, "
        f"{60 * count * jobs / bound:.0f} submissions/minute"
    )
    return 0 if same else 1
