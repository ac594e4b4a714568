"""The grading kernel: IPython's kernel that also answers the grader's requests, run inside the sandbox.

``python -m grading.kernel -f <connection file>`` starts it. Before the first cell the grader asks for a
*snapshot*: the kernel imports the assignment's preamble (its locked set-up cells: imports, checkers)
into a scratch namespace and records, with :class:`grading.guard.Guard`, the builtins, those modules,
``sys`` hooks and IPython's transformers, event callbacks and methods. Around every graded test cell:

* ``restore`` before every other cell puts that snapshot back, so what one cell broke (``builtins.max``
  replaced, say) does not break the grader's next request;
* ``enter_test`` restores that snapshot and prepares the test's own namespace: the learner's names
  (their functions) minus any that shadow a builtin, with the preamble executed afresh on top, so
  the test calls the instructor's checkers with the real ``numpy``;
* the test cell runs in that namespace, through IPython as usual (its output and errors are the
  grade); what it defines is copied back to the learner's namespace afterwards;
* ``leave_test`` reports and undoes anything the learner's code replaced *while the test ran*: the
  grader fails such a test.

Requests are answered here, before IPython parses anything (see :mod:`grading.protocol`).
"""

from __future__ import annotations

import ast
import builtins
import os
import sys
import types

from ipykernel.ipkernel import IPythonKernel
from ipykernel.zmqshell import ZMQInteractiveShell
from IPython.core.inputtransformer2 import TransformerManager
from IPython.core.interactiveshell import ExecutionInfo, ExecutionResult
from traitlets import Type

from grading import protocol
from grading.guard import Guard, protected_modules

__all__ = ["GuardedKernel", "GradingShell", "main"]

_compile, _exec = compile, exec  # bound before any learner code runs


class GradingShell(ZMQInteractiveShell):
    """ipykernel's shell, except that ``exit()`` in a cell ends that cell (as ``sys.exit()`` does), not the kernel."""

    def ask_exit(self):
        raise SystemExit("exit() ends this cell only: the grader decides when the kernel stops")


class GuardedKernel(IPythonKernel):
    """An IPython kernel that answers :mod:`grading.protocol` requests and runs test cells in their own namespace."""

    _token: str | None = None
    _guard: Guard | None = None
    _pending_test: tuple[types.ModuleType, dict, dict] | None = None
    _rebound: list[str] = []  # preamble names (checkers, np, ...) the last test's namespace saw rebound
    _test_error: list[str] | None = None  # [ename, evalue] if the last test raised, as this kernel saw it
    shell_class = Type(GradingShell)

    async def do_execute(
        self,
        code,
        silent,
        store_history=True,
        user_expressions=None,
        allow_stdin=False,
        *,
        cell_meta=None,
        cell_id=None,
    ):
        request = protocol.decode(code)
        if request is not None and (self._token is None or request[0] == self._token):
            return self._answer(*request)
        kwargs = dict(
            silent=silent,
            store_history=store_history,
            user_expressions=user_expressions,
            allow_stdin=allow_stdin,
            cell_meta=cell_meta,
            cell_id=cell_id,
        )
        if self._pending_test is None:
            return await super().do_execute(code, **kwargs)
        return await self._run_test(code, kwargs)

    def _answer(self, token: str, operation: str, payload: dict) -> dict:
        answer: dict = {"token": token, "operation": operation, "changes": [], "error": None, "test_error": None}
        try:
            if operation == "snapshot":
                if self._token is not None:
                    raise RuntimeError("the snapshot was already taken")
                self._token = token
                self._snapshot(payload.get("preamble", []))
            elif self._guard is None:
                raise RuntimeError("no snapshot was taken")
            elif operation == "restore":
                answer["changes"] = self._guard.restore()
            elif operation == "enter_test":
                answer["changes"] = self._guard.restore()
                self._pending_test = self._test_namespace(payload.get("preamble", []))
            else:  # leave_test
                answer["changes"] = self._guard.restore() + [f"the test's {name}" for name in self._rebound]
                answer["test_error"], self._rebound, self._test_error = self._test_error, [], None
        except Exception as error:  # reported to the grader, which fails the test
            answer["error"] = f"{type(error).__name__}: {error}"
        return {
            "status": "ok",
            "execution_count": self.execution_count,
            "payload": [],
            "user_expressions": {protocol.REPLY_KEY: answer},
        }

    def _snapshot(self, preamble: list[str]) -> None:
        scratch: dict = {"__name__": "__main__", "__builtins__": builtins}
        here, path = os.getcwd(), list(sys.path)
        # import from the environment only: a numpy.py in the working directory must not become "pristine"
        sys.path[:] = [p for p in path if p not in ("", ".") and os.path.abspath(p) != here]
        try:
            _run_preamble(preamble, scratch)
            modules = protected_modules(_imported_packages(preamble))
        finally:
            sys.path[:] = path
        shell, manager = self.shell, self.shell.input_transformer_manager
        self._guard = Guard(
            modules,
            objects=[
                (
                    shell,
                    "shell",
                    [
                        "input_transformer_manager",
                        "ast_transformers",
                        "input_transformers_post",
                        "events",
                        "compile",
                        "displayhook",
                        "display_pub",
                        "display_formatter",
                    ],
                ),
                (
                    manager,
                    "shell.input_transformer_manager",
                    ["cleanup_transforms", "line_transforms", "token_transformers"],
                ),
                (shell.events, "shell.events", ["callbacks"]),
                (self.session, "kernel.session", ["pack", "unpack"]),
            ],
            lists=[
                (manager.cleanup_transforms, "shell.input_transformers_cleanup"),
                (manager.line_transforms, "shell.input_transformer_manager.line_transforms"),
                (manager.token_transformers, "shell.input_transformer_manager.token_transformers"),
                (shell.input_transformers_post, "shell.input_transformers_post"),
                (shell.ast_transformers, "shell.ast_transformers"),
            ]
            + [(callbacks, f"shell.events[{event!r}]") for event, callbacks in shell.events.callbacks.items()],
            classes=[
                type(shell),
                type(self),
                type(shell.compile),
                type(manager),
                ExecutionResult,
                ExecutionInfo,
                type(self.session),
                type(shell.displayhook),
                type(shell.display_pub),
            ],
            # what carries outputs and errors to the grader: a method replaced on one of them is removed again
            instances=[
                (shell, "shell"),
                (self.session, "kernel.session"),
                (shell.displayhook, "shell.displayhook"),
                (shell.display_pub, "shell.display_pub"),
            ],  # the kernel sets attributes of its own; replacing its
            # methods is caught by the token check instead (grading.execute)
        )

    def _test_namespace(self, preamble: list[str]) -> tuple[types.ModuleType, dict, dict]:
        """The learner's names, minus those shadowing a builtin, then the preamble run again on top.

        Returns the namespace (as a module), a copy of it, and the names the preamble bound (the
        checkers, ``np``, ...), which no test rebinds: learner code that does (through
        ``get_ipython().user_ns``, say) is reported by ``leave_test``.
        """
        module = types.ModuleType("__main__")
        names = {k: v for k, v in self.shell.user_ns.items() if k.startswith("__") or not hasattr(builtins, k)}
        names.update(__name__="__main__", __builtins__=builtins)
        vars(module).update(names)
        _run_preamble(preamble, vars(module))
        bound = {k: v for k, v in vars(module).items() if names.get(k, _MISSING) is not v}
        return module, dict(vars(module)), bound

    async def _run_test(self, code: str, kwargs: dict) -> dict:
        module, before, bound = self._pending_test
        self._pending_test = None
        shell = self.shell
        learner = shell.user_module, shell.user_ns
        shell.user_module, shell.user_ns = module, vars(module)
        try:
            reply = await super().do_execute(code, **kwargs)
            # reported with leave_test too: learner code that drops error messages on their way out cannot hide it
            self._test_error = (
                [str(reply.get("ename", "")), str(reply.get("evalue", ""))] if reply.get("status") == "error" else None
            )
            return reply
        finally:
            shell.user_module, shell.user_ns = learner
            self._rebound = [k for k, v in bound.items() if vars(module).get(k, _MISSING) is not v]
            for name, value in vars(module).items():  # what the test defined stays, as in a plain run
                if before.get(name, _MISSING) is not value:
                    learner[1][name] = value


_MISSING = object()


def _run_preamble(preamble: list[str], namespace: dict) -> None:
    """Execute the instructor's set-up cells in `namespace`, magics translated by a fresh (untouched) transformer."""
    translate = TransformerManager().transform_cell
    for source in preamble:
        _exec(_compile(translate(source), "<grading preamble>", "exec"), namespace)


def _imported_packages(preamble: list[str]) -> list[str]:
    names = []
    for source in preamble:
        try:
            tree = ast.parse(TransformerManager().transform_cell(source))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.extend(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.append(node.module)
    return names


def _refuse_new_audit_hooks(event: str, args: tuple) -> None:
    """Audit hooks cannot be removed; one added by learner code could act on every later ``exec``."""
    if event == "sys.addaudithook":
        raise RuntimeError("the grading kernel accepts no further audit hooks")


def application(argv: list[str]):
    """The kernel application, initialised (its sockets bound) but not started; no further audit hooks, no grader variables."""
    sys.addaudithook(_refuse_new_audit_hooks)
    for name in [n for n in os.environ if n.startswith("NBGRADER")]:
        del os.environ[name]
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance(kernel_class=GuardedKernel)
    app.initialize(argv)
    return app


def main() -> None:
    """Start the kernel (arguments as for ``ipykernel_launcher``)."""
    application(sys.argv[1:]).start()


if __name__ == "__main__":
    main()
