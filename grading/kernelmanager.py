"""The kernel manager nbgrader uses at grading time: the guarded kernel, started inside the sandbox.

Whatever kernel the submitted notebook names, the grader starts ``python -m grading.kernel`` from the
course's environment. With ``sandbox`` on (the default) it runs under bubblewrap (see
:mod:`grading.sandbox`), which dies with the grader, with ``timeout`` inside; it talks to the grader over ZeroMQ *ipc* sockets in a
private directory (TCP would need the host's network), and is interrupted by a message, not a signal.
Its environment is built from scratch: nothing of the grader's (no ``NBGRADER_EXECUTION``, no database
password) reaches learner code.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import tempfile

from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, Integer, List, Unicode

from grading.sandbox import HOME, Limits, bubblewrap, read_only_paths, sandbox_command

__all__ = ["GradingKernelManager", "kernel_environment", "working_files"]

GRADING_PACKAGE = os.path.dirname(os.path.abspath(__file__))
GRADING_MOUNT = "/opt/relucourse-grading"  # where the sandbox sees this package


def kernel_environment(home: str, python_path: str) -> dict[str, str]:
    """The kernel's whole environment: one thread per library (grades identical in parallel), no grader secrets."""
    return {
        "PATH": os.pathsep.join([os.path.join(sys.prefix, "bin"), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": home,
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "PYTHONPATH": python_path,
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": "/tmp/matplotlib",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
    }


def working_files(directory: str) -> dict[str, str]:
    """The regular files under `directory` that the kernel may read, relative path -> host path.

    Notebooks stay out (the one being graded holds the hidden tests); so do links, which could point
    anywhere on the host.
    """
    files = {}
    for root, dirs, names in os.walk(directory):
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(root, d)) and not d.startswith(".")]
        for name in names:
            path = os.path.join(root, name)
            if not name.endswith(".ipynb") and not os.path.islink(path) and os.path.isfile(path):
                files[os.path.relpath(path, directory)] = path
    return files


class GradingKernelManager(AsyncKernelManager):
    """Starts :mod:`grading.kernel` in the sandbox; configure it as ``c.GradingKernelManager.<trait>``."""

    sandbox = Bool(True, help="Run the kernel under bubblewrap. Turn off only for submissions you trust.").tag(config=True)
    memory_limit = Integer(Limits.memory_bytes, help="Address-space cap of the kernel, bytes").tag(config=True)
    wall_limit = Integer(Limits.wall_seconds, help="The kernel is killed after this many seconds").tag(config=True)
    file_size_limit = Integer(Limits.file_bytes, help="Largest file the kernel may write, bytes").tag(config=True)
    scratch_size = Integer(Limits.scratch_bytes, help="Size of each tmpfs in the sandbox, bytes").tag(config=True)
    extra_read_only = List(Unicode(), help="More host paths the kernel may read").tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._private = tempfile.mkdtemp(prefix="relucourse-kernel-")
        self.transport, self.cache_ports = "ipc", False
        self.ip = os.path.join(self._private, "kernel")
        self.connection_file = os.path.join(self._private, "connection.json")
        self._kernel_spec = KernelSpec(
            argv=[sys.executable, "-m", "grading.kernel", "-f", "{connection_file}"],
            display_name="relucourse grading kernel", language="python", interrupt_mode="message",
            env={}, metadata={}, resource_dir="",
        )
        self._workdir, self._files, self._log = f"{HOME}/work", {}, None

    @property
    def ipykernel(self) -> bool:
        return True

    async def _async_pre_start_kernel(self, **kw):
        if self.sandbox:
            bubblewrap()  # fail early, with what to install
        host_cwd = kw.pop("cwd", None) or os.getcwd()
        self._workdir = f"{HOME}/{os.path.basename(os.path.normpath(host_cwd)) or 'work'}"
        self._files = working_files(host_cwd)
        self._log = open(os.path.join(self._private, "kernel.log"), "ab")  # not the grader's terminal
        kw["stdout"] = kw["stderr"] = self._log
        if self.sandbox:
            kw["env"] = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
            kw["cwd"] = self._private
        else:
            kw["env"] = kernel_environment(os.environ.get("HOME", "/tmp"), os.path.dirname(GRADING_PACKAGE))
            kw["cwd"] = host_cwd
        return await super()._async_pre_start_kernel(**kw)

    def format_kernel_cmd(self, extra_arguments=None):
        command = super().format_kernel_cmd(extra_arguments)
        if not self.sandbox:
            return command
        limits = Limits(self.memory_limit, self.wall_limit, self.file_size_limit, self.scratch_size)
        # Inside: `timeout` kills the kernel after wall_limit; `setsid` makes the kernel its own process
        # group, so the interrupt it sends itself (ipykernel signals its group) does not reach `timeout`.
        timed = [shutil.which("timeout") or "/usr/bin/timeout", "--signal=KILL", str(limits.wall_seconds),
                 shutil.which("setsid") or "/usr/bin/setsid", *command]
        extra = [*self.extra_read_only, *_package_dirs("relucourse")]
        inner = sandbox_command(
            timed, workdir=self._workdir, files=self._files, sockets=self._private,
            env=kernel_environment(HOME, GRADING_MOUNT), limits=limits, read_only=read_only_paths(extra),
        )
        return inner[:1] + ["--ro-bind", GRADING_PACKAGE, f"{GRADING_MOUNT}/grading"] + inner[1:]

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        try:
            await super()._async_cleanup_resources(restart=restart)
        finally:
            if self._log is not None:
                self._log.close()
                self._log = None
            if not restart:
                shutil.rmtree(self._private, ignore_errors=True)

    cleanup_resources = _async_cleanup_resources  # AsyncKernelManager binds the base class's function by name


def _package_dirs(name: str) -> list[str]:
    """Where an installed package lives (the course's package is an editable install outside the venv)."""
    spec = importlib.util.find_spec(name)
    return list(spec.submodule_search_locations or []) if spec else []
