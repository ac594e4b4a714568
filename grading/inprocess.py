"""An assignment's test cells run in this process on given answers: what each test says, in seconds.

Not the grader (no sandbox, no guard, no nbgrader): a quick way to ask every checker about a wrong answer.
The set-up cells (imports, checkers) run once, then the solution cells (the reference solution unless an
answer replaces it), then each test cell in a copy of that namespace, as the grading kernel runs them.
The plausible wrong answers of each assignment are in ``tests/fixtures/<assignment>/mistakes.yml``;
`planted_diagnoses` runs a class made of them and groups what the checkers say as ``make report`` does
(the instructor page's sample report).
"""

import ast
import json
from pathlib import Path

import nbformat
import yaml
from nbgrader.preprocessors import ClearHiddenTests

from grading.bench import reference_solutions
from grading.report import Diagnosis, group_diagnoses

ROOT = Path(__file__).resolve().parent.parent
# student -> the mistakes of tests/fixtures/relu_at_zero/mistakes.yml in their answers: a class with planted mistakes
PLANTED = {
    "s01": ["strict mask"],
    "s02": ["strict mask"],
    "s03": ["strict mask"],
    "s04": ["any instead of all"],
    "s05": ["any instead of all"],
    "s06": ["strict mask", "any instead of all"],
    "s07": ["finite difference"],
    "s08": [],
    "s09": [],
}


def notebook_cells(assignment: str) -> list[tuple[dict, str]]:
    """(nbgrader metadata, source) of every code cell of the assignment's source notebooks, in order."""
    cells = []
    for path in sorted((ROOT / "exercises" / assignment).glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code":
                cells.append((cell["metadata"].get("nbgrader", {}), "".join(cell["source"])))
    return cells


def solutions(assignment: str, *, written: bool = False) -> dict[str, str]:
    """grade_id -> the reference solution of each code solution cell, as a learner types it; `written`: the model
    answers of the short answers graded by hand (markdown solution cells) too."""
    found = {}
    for path in sorted((ROOT / "exercises" / assignment).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        code = {c.metadata.nbgrader["grade_id"] for c in nb.cells if c.cell_type == "code" and "nbgrader" in c.metadata}
        found.update({k: v for k, v in reference_solutions(nb).items() if written or k in code})
    return found


def _visible(source: str) -> str:
    """A test cell's source without its hidden tests, as the learner's copy has it (nbgrader's own clearing)."""
    cell = nbformat.v4.new_code_cell(source)
    return ClearHiddenTests(enforce_metadata=False).preprocess_cell(cell, {}, 0)[0].source


def _defined(source: str) -> set[str]:
    """The names a solution cell defines at its top level (its functions and classes)."""
    return {node.name for node in ast.parse(source).body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}


def _used(source: str) -> set[str]:
    return {node.id for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Name)}


def run_tests(
    assignment: str, answers: dict[str, str] | None = None, *, visible_only: bool = False, preamble: str = ""
) -> dict[str, str | None]:
    """grade_id -> None for each test cell that passes, else its error as the feedback shows it ("Name: message").

    `answers` replaces solution cells (grade_id -> source); `visible_only` runs the tests as the release
    shows them; `preamble` runs before the solution cells (helpers a hostile answer uses). A test cell that
    names none of the functions and classes of the replaced cells is not run: it passes, as on the reference.
    """
    reference = solutions(assignment)
    replaced = answers or {}
    changed = {name for grade_id in replaced for name in _defined(reference[grade_id])}
    answers = {**reference, **replaced}
    namespace: dict = {"__name__": "__main__"}
    results = {}
    for meta, source in notebook_cells(assignment):
        if meta.get("grade") and replaced and not changed & _used(source):
            results[meta["grade_id"]] = None  # calls none of the replaced answers: it passes, as on the reference
        elif meta.get("solution"):
            try:
                exec(compile(preamble + "\n" + answers[meta["grade_id"]], meta["grade_id"], "exec"), namespace)
            except Exception:  # the learner's cell fails: the tests after it see what it defined
                pass
        elif meta.get("grade"):
            code = _visible(source) if visible_only else source
            try:
                exec(compile(code, meta["grade_id"], "exec"), dict(namespace))
                results[meta["grade_id"]] = None
            except Exception as error:
                results[meta["grade_id"]] = f"{type(error).__name__}: {error}"
        elif meta.get("locked"):
            exec(compile(source, meta.get("grade_id", "setup"), "exec"), namespace)
    return results


def mistakes(assignment: str) -> list[dict]:
    """The plausible wrong answers written down for the assignment (tests/fixtures/<assignment>/mistakes.yml).

    Each has its `cells` resolved to sources: a cell given as ``replace: [old, new, ...]`` is the reference
    solution with each `old` (which must occur in it) replaced by the `new` after it.
    """
    reference = solutions(assignment)
    written = yaml.safe_load((ROOT / "tests" / "fixtures" / assignment / "mistakes.yml").read_text())["mistakes"]
    for mistake in written:
        for grade_id, cell in mistake["cells"].items():
            if isinstance(cell, dict):
                source, edits = reference[grade_id], cell["replace"]
                for old, new in zip(edits[::2], edits[1::2]):
                    if old not in source:
                        raise ValueError(f"{assignment}/{mistake['name']}: {old!r} is not in the solution {grade_id}")
                    source = source.replace(old, new)
                mistake["cells"][grade_id] = source
    return written


def planted_answers(assignment: str, plan: dict[str, list[str]]) -> dict[str, dict[str, str]]:
    """student -> the cells their planted mistakes replace (grade_id -> source); the others are the reference's."""
    by_name = {m["name"]: m for m in mistakes(assignment)}
    unknown = sorted({name for names in plan.values() for name in names} - set(by_name))
    if unknown:
        raise ValueError(f"{assignment}: no mistake named {unknown} in tests/fixtures/{assignment}/mistakes.yml")
    return {
        student: {k: v for name in names for k, v in by_name[name]["cells"].items()} for student, names in plan.items()
    }


def planted_diagnoses(assignment: str, plan: dict[str, list[str]]) -> list[Diagnosis]:
    """`make report`'s diagnoses of a class that answers as `plan` says, its test cells run in this process."""
    cells, reference = notebook_cells(assignment), solutions(assignment)
    tests = [meta["grade_id"] for meta, _ in cells if meta.get("grade") and not meta.get("solution")]
    failures = {}
    for student, replaced in planted_answers(assignment, plan).items():
        said, answers, above, failing = run_tests(assignment, replaced), {**reference, **replaced}, "", {}
        for meta, _ in cells:
            if meta.get("solution"):
                above = answers.get(meta["grade_id"], "")
            elif said.get(meta.get("grade_id")) is not None:
                failing[meta["grade_id"]] = (said[meta["grade_id"]], above)
        failures[student] = failing
    return group_diagnoses(tests, failures)
