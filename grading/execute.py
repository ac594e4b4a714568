"""nbgrader's Execute step, hardened: guarded test cells, a fresh kernel after a crash, capped output and time.

Configured in ``nbgrader_config.py`` in place of nbgrader's ``Execute``, so ``nbgrader autograde`` (and
the formgrader's button) grade this way as well as ``make grade``. For every notebook:

* the kernel is :class:`grading.kernelmanager.GradingKernelManager`'s (sandboxed, guarded);
* before the first cell, the kernel snapshots the state tests rely on (:mod:`grading.kernel`);
* each graded test cell is wrapped in ``enter_test`` / ``leave_test`` requests: a test whose guard
  cannot be set up, or during which learner code replaced something the tests use, gets an error;
  before every other cell a ``restore`` request puts the snapshot back;
* a kernel that dies (``os._exit``, a segfault, the memory cap) or ignores an interrupt is killed and
  replaced; the cells that had run without error are replayed silently and grading goes on. After
  ``max_kernel_restarts``, and once ``submission_timeout`` is used up, the remaining cells get an error
  saying they were not run: every test cell always ends with a verdict;
* output beyond ``max_output_chars`` per cell is dropped as it arrives (a print loop cannot fill the
  grader's memory or the feedback page); error messages are kept, shortened.
"""

from __future__ import annotations

import json
import os
import secrets
from time import monotonic

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute
from nbgrader.utils import is_grade, is_locked, is_solution
from traitlets import Dict, Integer

from grading import protocol
from grading.kernelmanager import GradingKernelManager

__all__ = ["GuardedExecute", "preamble_sources", "error_output"]


class KernelUnresponsive(RuntimeError):
    """The kernel did not answer within the timeout, even after an interrupt."""


def preamble_sources(nb: NotebookNode) -> list[str]:
    """The instructor's set-up: locked, ungraded code cells before the first solution cell (imports, checkers)."""
    sources = []
    for cell in nb.cells:
        if is_solution(cell):
            break
        if cell.cell_type == "code" and is_locked(cell) and not is_grade(cell):
            sources.append(cell.source)
    return sources


def error_output(ename: str, evalue: str) -> NotebookNode:
    """An error output as a kernel would send it; nbgrader scores the cell 0, the feedback shows the message."""
    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def _fail(cell: NotebookNode, ename: str, evalue: str) -> None:
    cell.setdefault("outputs", []).append(error_output(ename, evalue))


def _has_error(cell: NotebookNode) -> bool:
    return any(o.get("output_type") == "error" for o in cell.get("outputs", []))


def _chars(content: dict) -> int:
    if "text" in content:
        return len(str(content["text"]))
    return sum(len(v) if isinstance(v, str) else len(json.dumps(v)) for v in content.get("data", {}).values())


class GuardedExecute(Execute):
    """Execute a submission in the guarded, sandboxed kernel; see the module's docstring."""

    submission_timeout = Integer(900, help="Seconds one notebook may take in all; later cells are not run").tag(
        config=True
    )
    max_kernel_restarts = Integer(2, help="Fresh kernels after a crash before the rest is not run").tag(config=True)
    max_output_chars = Integer(100_000, help="Characters of output kept per cell").tag(config=True)
    max_error_chars = Integer(2_000, help="Characters kept of an error message or traceback line").tag(config=True)
    error_on_timeout = Dict(
        {  # nbgrader's says "CellTimeoutError: " and nothing more in the feedback
            "ename": "CellTimeoutError",
            "evalue": "this cell ran longer than the grader's time limit for one cell and was interrupted.",
            "traceback": [
                "CellTimeoutError: this cell ran longer than the grader's time limit for one cell and was interrupted."
            ],
        },
        help=Execute.error_on_timeout.help,
    ).tag(config=True)

    def __init__(self, **kwargs):
        kwargs.setdefault("kernel_manager_class", GradingKernelManager)
        kwargs.setdefault(
            "shutdown_kernel", "immediate"
        )  # nothing of a kernel is kept: no need to wait for its goodbye
        super().__init__(**kwargs)

    def preprocess(self, nb, resources=None, km=None):
        NotebookClient.__init__(self, nb, km)  # as nbconvert's ExecutePreprocessor.preprocess does
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        self._preamble = self._instructor_preamble(self.resources or {})
        self._deadline = monotonic() + self.submission_timeout
        self._output_used: dict[int, int] = {}
        with self.setup_kernel():
            self._begin()
            self._run_cells()
        self.set_widgets_metadata()
        return self.nb, self.resources

    def _instructor_preamble(self, resources: dict) -> list[str]:
        """The preamble as the instructor's source notebook orders it: a submission that moves a solution cell
        above the checkers cannot shorten it."""
        info = resources.get("nbgrader", {})
        coursedir = CourseDirectory(config=self.config)
        folder = coursedir.format_path(coursedir.source_directory, ".", info.get("assignment", ""))
        try:
            return preamble_sources(nbformat.read(os.path.join(folder, f"{info.get('notebook')}.ipynb"), as_version=4))
        except (OSError, ValueError) as error:  # no source notebook here: the submission's order, as repaired
            self.log.warning("preamble from the submission, the source notebook is unreadable: %s", error)
            return preamble_sources(self.nb)

    def _run_cells(self) -> None:
        replay: list[int] = []  # learner cells that ran cleanly, replayed in a fresh kernel
        restarts, stopped = 0, None
        for index, cell in enumerate(self.nb.cells):
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            if stopped is None and monotonic() > self._deadline:
                stopped = (
                    f"the notebook used up the {self.submission_timeout} s the grader gives each "
                    "submission, so this cell was not run."
                )
            if stopped is not None:
                cell.outputs = []
                _fail(cell, "NotRun", stopped)
                continue
            try:
                if is_grade(cell):
                    self._run_test(cell, index)
                else:
                    self._request("restore", {})  # what an earlier cell broke must not break this one
                    self.execute_cell(cell, index, store_history=True)
                    if not _has_error(cell):
                        replay.append(index)
            except (DeadKernelError, CellTimeoutError, KernelUnresponsive) as crash:
                _fail(cell, *self._crash_message(crash))
                if restarts == self.max_kernel_restarts:
                    stopped = (
                        f"the Python process running the notebook stopped {restarts + 1} times, "
                        "so the cells after the last crash were not run."
                    )
                    continue
                restarts += 1
                try:
                    self._restart(replay)
                except (DeadKernelError, CellTimeoutError, KernelUnresponsive):
                    stopped = "the notebook's earlier cells crash a fresh Python process, so this cell was not run."

    def _crash_message(self, crash: Exception) -> tuple[str, str]:
        if isinstance(crash, DeadKernelError):
            return (
                "KernelDied",
                "the Python process running the notebook stopped during this cell (a crash, the "
                "memory limit, os._exit or exit()). Grading went on in a fresh process, with the earlier "
                "cells run again.",
            )
        return (
            "KernelUnresponsive",
            f"this cell ran longer than {self.timeout} s and did not stop when "
            "interrupted. The process was stopped; grading went on in a fresh one.",
        )

    def _run_test(self, cell: NotebookNode, index: int) -> None:
        entered = self._request("enter_test", {"preamble": self._preamble})
        if entered is None or entered["error"]:
            cell.outputs = []
            _fail(
                cell,
                "GradingGuardError",
                "the grader could not set this test up: the notebook has altered the "
                "Python kernel's own machinery" + (f" ({entered['error']})." if entered else "."),
            )
            return
        if entered["changes"]:
            self.log.info("restored before %s: %s", cell.metadata.nbgrader.get("grade_id"), entered["changes"])
        self.execute_cell(cell, index, store_history=True)
        left = self._request("leave_test", {})
        if left is not None and left.get("test_error") and not _has_error(cell):  # its error never reached us
            _fail(cell, *(str(part)[: self.max_error_chars] for part in left["test_error"]))
        if left is None or left["error"]:
            _fail(cell, "GradingGuardError", "the grader could not check this test's environment after it ran.")
        elif left["changes"]:
            shown = ", ".join(left["changes"][:5]) + (", ..." if len(left["changes"]) > 5 else "")
            _fail(
                cell,
                "GradingIntegrityError",
                f"this test does not count: while it ran, the notebook's code "
                f"replaced {shown}, which the tests rely on.",
            )

    def _begin(self) -> None:
        """Kernel info, then the snapshot: before any learner code runs."""
        info = self.wait_for_reply(self.kc.kernel_info())
        if info is None:
            raise KernelUnresponsive("the grading kernel did not start")
        self.nb.metadata["language_info"] = info["content"]["language_info"]
        self._token = secrets.token_hex(16)
        answer = self._request("snapshot", {"preamble": self._preamble})
        if answer is None or answer["error"]:
            raise RuntimeError(f"the grading kernel could not take its snapshot: {answer and answer['error']}")

    def _request(self, operation: str, payload: dict) -> dict | None:
        """Send a guard request; its answer, or None if the reply is not the kernel's (the machinery was replaced)."""
        msg_id = self.kc.execute(
            protocol.encode(self._token, operation, payload), silent=True, store_history=False, allow_stdin=False
        )
        reply = self.wait_for_reply(msg_id)
        if reply is None:
            raise KernelUnresponsive(f"no answer to {operation}")
        answer = reply["content"].get("user_expressions", {}).get(protocol.REPLY_KEY)
        if not isinstance(answer, dict) or answer.get("token") != self._token or answer.get("operation") != operation:
            return None
        return answer

    def _restart(self, replay: list[int]) -> None:
        self.shutdown_kernel = "immediate"
        try:
            self._cleanup_kernel()
        except Exception as error:  # a half-dead kernel: it is being replaced anyway
            self.log.warning("cleaning up a crashed kernel: %s", error)
        self.km = self.create_kernel_manager()
        self.start_new_kernel()
        self.start_new_kernel_client()
        self._begin()
        for index in replay:
            cell = self.nb.cells[index]
            msg_id = self.kc.execute(cell.source, silent=True, store_history=False, allow_stdin=False)
            if self.wait_for_reply(msg_id, cell) is None:
                raise KernelUnresponsive("replay")

    def _get_timeout(self, cell):
        timeout = super()._get_timeout(cell)
        left = max(1, int(self._deadline - monotonic()) + 1)
        return left if timeout is None else min(timeout, left)

    def output(self, outs, msg, display_id, cell_index):
        content = msg["content"]
        if msg["msg_type"] == "error":
            cut = self.max_error_chars
            content["ename"] = str(content.get("ename", ""))[:200]
            content["evalue"] = str(content.get("evalue", ""))[:cut]
            content["traceback"] = [str(line)[:cut] for line in (content.get("traceback") or [])[-40:]]
            return super().output(outs, msg, display_id, cell_index)
        used, size, limit = self._output_used.get(cell_index, 0), _chars(content), self.max_output_chars
        if used >= limit:
            return None
        self._output_used[cell_index] = used + size
        if used + size > limit:
            note = f"[... more output dropped by the grader: over {limit} characters in this cell ...]"
            if "text" in content:
                content["text"] = str(content["text"])[: limit - used] + "\n" + note + "\n"
            else:
                content["data"], content["metadata"] = {"text/plain": note}, {}
        return super().output(outs, msg, display_id, cell_index)
