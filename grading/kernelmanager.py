"""The kernel manager nbgrader uses at grading time: a guarded kernel, forked warm by this process's kernel server.

Whatever kernel the submitted notebook names, the grader starts :mod:`grading.kernel` from the course's
environment. With ``sandbox`` on (the default) each grading process starts one :class:`KernelServer`
under bubblewrap (see :mod:`grading.sandbox`), which dies with the grader, in a pids cgroup of its own
where one is writable; each kernel is forked by it (:mod:`grading.forkserver`), and the "kernel process"
jupyter_client watches is the small launcher that asked for it: killing it kills the kernel. Kernels talk
to the grader over ZeroMQ *ipc* sockets in their own folder (TCP would need the host's network) and are
interrupted by a message, not a signal. Their environment is built from scratch: nothing of the grader's
(no ``NBGRADER_EXECUTION``, no database password) reaches learner code.
"""

from __future__ import annotations

import atexit
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile

from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, Integer, List, Unicode

from grading import forkserver
from grading.sandbox import HOME, Limits, SandboxUnavailable, bubblewrap, read_only_paths, sandbox_command

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


class KernelServer:
    """A :mod:`grading.forkserver` server in its sandbox, with the processes of its kernel capped."""

    def __init__(self, limits: Limits, read_only: list[str], preload: list[str]):
        bubblewrap()  # fail early, with what to install
        self.limits, self.directory = limits, tempfile.mkdtemp(prefix="relucourse-kernels-")
        self._log = open(os.path.join(self.directory, "server.log"), "ab")
        command = sandbox_command(
            [sys.executable, "-m", "grading.forkserver", "serve", *preload],
            sockets=self.directory,
            env=kernel_environment(HOME, GRADING_MOUNT),
            read_only=read_only,
            limits=limits,
        )
        command[1:1] = ["--ro-bind", GRADING_PACKAGE, f"{GRADING_MOUNT}/grading"]
        self.cgroup = pids_cgroup(f"{os.getpid()}-{os.path.basename(self.directory)}", limits.processes + SERVER_TASKS)
        if self.cgroup:  # joined before bubblewrap starts, so all of the sandbox is in it
            command = ["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', self.cgroup, *command]
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._log)
        if self.process.stdout.readline() != b"ready\n":
            log = self.log_tail()
            self.close()
            raise SandboxUnavailable(f"the grading kernel server did not start: {log}")
        self.socket, self._count = os.path.join(self.directory, forkserver.SOCKET), 0

    def new_kernel_directory(self) -> str:
        self._count += 1
        path = os.path.join(self.directory, f"k{self._count}")
        os.mkdir(path, 0o700)
        return path

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self) -> str:
        with open(os.path.join(self.directory, "server.log"), "rb") as handle:
            return handle.read()[-2000:].decode(errors="replace")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self._log.close()
        if self.cgroup:
            remove_cgroup(self.cgroup)
        shutil.rmtree(self.directory, ignore_errors=True)


SERVER_TASKS = 5  # bubblewrap (two), the server, a warden and the shell that starts them, beside the kernel's own
_servers: dict[tuple, KernelServer] = {}
_servers_of = os.getpid()


def kernel_server(limits: Limits, read_only: list[str], preload: list[str]) -> KernelServer:
    """This process's server for these settings, started on first use (and again if it died)."""
    global _servers_of
    if _servers_of != os.getpid():  # a forked grading worker: its parent's servers are not its own
        _servers.clear()
        _servers_of = os.getpid()
    key = (limits, tuple(read_only), tuple(preload))
    server = _servers.get(key)
    if server is None or not server.alive():
        if server is not None:
            server.close()
        server = _servers[key] = KernelServer(limits, read_only, preload)
    return server


@atexit.register
def _close_servers() -> None:
    if _servers_of == os.getpid():
        for server in _servers.values():
            server.close()


class GradingKernelManager(AsyncKernelManager):
    """Starts :mod:`grading.kernel` in the sandbox; configure it as ``c.GradingKernelManager.<trait>``."""

    sandbox = Bool(True, help="Run the kernel under bubblewrap. Turn off only for submissions you trust.").tag(
        config=True
    )
    memory_limit = Integer(Limits.memory_bytes, help="Address-space cap of the kernel, bytes").tag(config=True)
    wall_limit = Integer(Limits.wall_seconds, help="The kernel is killed after this many seconds").tag(config=True)
    file_size_limit = Integer(Limits.file_bytes, help="Largest file the kernel may write, bytes").tag(config=True)
    scratch_size = Integer(Limits.scratch_bytes, help="Size of each tmpfs in the sandbox, bytes").tag(config=True)
    scratch_inodes = Integer(Limits.inodes, help="Files and folders in each tmpfs of the sandbox").tag(config=True)
    process_limit = Integer(Limits.processes, help="Processes and threads one kernel may have").tag(config=True)
    extra_read_only = List(Unicode(), help="More host paths the kernel may read").tag(config=True)
    preload = List(
        Unicode(),
        ["numpy", "numpy.testing", "torch", "torch.testing"],
        help="Modules the kernel server imports once, before any "
        "kernel: each kernel starts with them loaded, untouched",
    ).tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.transport, self.cache_ports = "ipc", False
        self._kernel_spec = KernelSpec(
            argv=[sys.executable, "-m", "grading.kernel", "-f", "{connection_file}"],
            display_name="relucourse grading kernel",
            language="python",
            interrupt_mode="message",
            env={},
            metadata={},
            resource_dir="",
        )
        self._private = self._server = None
        self._workdir, self._files, self._log = f"{HOME}/work", {}, None

    @property
    def ipykernel(self) -> bool:
        return True

    @property
    def server(self) -> KernelServer | None:
        """The server this manager's kernel was forked by (None outside the sandbox)."""
        return self._server

    @property
    def limits(self) -> Limits:
        return Limits(
            self.memory_limit,
            self.wall_limit,
            self.file_size_limit,
            self.scratch_size,
            inodes=self.scratch_inodes,
            processes=self.process_limit,
        )

    async def _async_pre_start_kernel(self, **kw):
        host_cwd = kw.pop("cwd", None) or os.getcwd()
        if self.sandbox:
            read_only = read_only_paths([*self.extra_read_only, *_package_dirs("relucourse")])
            self._server = kernel_server(self.limits, read_only, list(self.preload))
            self._private = self._server.new_kernel_directory()
            self._workdir = f"{HOME}/{os.path.basename(os.path.normpath(host_cwd)) or 'work'}"
            self._files = working_files(host_cwd)
            kw["env"], kw["cwd"] = {}, self._private
        else:
            self._private = tempfile.mkdtemp(prefix="relucourse-kernel-")
            kw["env"] = kernel_environment(os.environ.get("HOME", "/tmp"), os.path.dirname(GRADING_PACKAGE))
            kw["cwd"] = host_cwd
        self.ip = os.path.join(self._private, "kernel")
        self.connection_file = os.path.join(self._private, "connection.json")
        self._log = open(os.path.join(self._private, "kernel.log"), "ab")  # not the grader's terminal
        kw["stdout"] = kw["stderr"] = self._log
        return await super()._async_pre_start_kernel(**kw)

    def format_kernel_cmd(self, extra_arguments=None):
        command = super().format_kernel_cmd(extra_arguments)
        if not self.sandbox:
            return command
        inside = {**self.get_connection_info(session=False), "ip": f"{forkserver.KERNEL_DIR}/kernel"}
        inside["key"] = self.session.key.decode()
        with open(os.path.join(self._private, "kernel.json"), "w") as handle:
            json.dump(inside, handle)
        request = kernel_request(self.limits, self._workdir, self._files)
        with open(os.path.join(self._private, "request.json"), "w") as handle:
            json.dump(request, handle)
        return [
            sys.executable,
            "-I",
            "-S",
            forkserver.__file__,
            "launch",
            self._server.socket,
            os.path.basename(self._private),
            os.path.join(self._private, "request.json"),
        ]

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        try:
            await super()._async_cleanup_resources(restart=restart)
        finally:
            if self._log is not None:
                self._log.close()
                self._log = None
            if not restart and self._private:
                shutil.rmtree(self._private, ignore_errors=True)

    cleanup_resources = _async_cleanup_resources  # AsyncKernelManager binds the base class's function by name


def kernel_request(limits: Limits, workdir: str, files: dict[str, str]) -> dict:
    """What the server needs to start one kernel: its caps, working directory, data files and environment."""
    if not os.path.isabs(workdir) or not workdir.startswith(HOME + "/") or ".." in workdir.split("/"):
        raise ValueError(f"Invalid workdir: {workdir!r} (expected a path under {HOME}/)")
    contents, total = {}, 0
    for relative, host in sorted(files.items()):
        if os.path.isabs(relative) or ".." in relative.split("/"):
            raise ValueError(f"Invalid data file path: {relative!r} (expected a path inside the working directory)")
        with open(host, "rb") as handle:
            contents[relative] = handle.read(limits.scratch_bytes + 1).hex()
        total += len(contents[relative]) // 2
        if total > limits.scratch_bytes:
            raise ValueError(f"Invalid data files: over {limits.scratch_bytes} bytes in all")
    return {
        "workdir": workdir,
        "home": HOME,
        "files": contents,
        "env": kernel_environment(HOME, GRADING_MOUNT),
        "memory_bytes": limits.memory_bytes,
        "file_bytes": limits.file_bytes,
        "open_files": limits.open_files,
        "processes": limits.processes + SERVER_TASKS,
        "wall_seconds": limits.wall_seconds,
        "scratch_bytes": limits.scratch_bytes,
        "inodes": limits.inodes,
    }


def pids_cgroup(name: str, maximum: int) -> str | None:
    """A pids cgroup of this name (``<pid of its owner>-...``) allowing `maximum` tasks; its path, or None where no pids controller is writable
    here (then each kernel's RLIMIT_NPROC caps it, which binds every user but root)."""
    for base in ("/sys/fs/cgroup/pids", "/sys/fs/cgroup"):  # cgroup v1's pids hierarchy, cgroup v2's
        if base.endswith("pids") and not os.path.isfile(os.path.join(base, "cgroup.procs")):
            continue
        if not base.endswith("pids") and "pids" not in _read(os.path.join(base, "cgroup.subtree_control")).split():
            continue
        parent = os.path.join(base, "relucourse-grading")
        group = os.path.join(parent, name)
        try:
            os.makedirs(group, exist_ok=True)
            with open(os.path.join(group, "pids.max"), "w") as handle:
                handle.write(str(maximum))
        except OSError:
            remove_cgroup(group)
            continue
        for stale in os.listdir(parent):  # left by grading processes that were killed
            owner = stale.split("-")[0]
            if owner.isdigit() and not os.path.exists(f"/proc/{owner}"):
                remove_cgroup(os.path.join(parent, stale))
        return group
    return None


def _read(path: str) -> str:
    try:
        with open(path) as handle:
            return handle.read()
    except OSError:
        return ""


def remove_cgroup(group: str) -> None:
    try:
        os.rmdir(group)
    except OSError:
        pass


def _package_dirs(name: str) -> list[str]:
    """Where an installed package lives (the course's package is an editable install outside the venv)."""
    spec = importlib.util.find_spec(name)
    return list(spec.submodule_search_locations or []) if spec else []
