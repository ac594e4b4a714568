"""The bubblewrap command line that confines a kernel server (:mod:`grading.forkserver`) and the kernels it forks.

Inside, the server sees: the Python installation and the course's virtual environment, read-only; a
few files of ``/etc`` (the dynamic loader's cache, time zone, user names); a size-capped ``/tmp`` and
home; and the host folder of its own and its kernels' ZeroMQ sockets. Nothing else of the host: not
``exercises/`` (solutions, hidden tests), not the gradebook, not the other submissions, not the
instructor's home. New user, pid, network, IPC, UTS and cgroup namespaces (no network at all, not
even the host's loopback), every capability dropped but the three the server needs to confine each
kernel in namespaces of its own (the kernel drops them too), killed with its parent. ``prlimit`` caps
its open files and core dumps; the server sets each kernel's memory, file-size, file-count and
process caps, and its wall-clock limit.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["Limits", "SandboxUnavailable", "bubblewrap", "sandbox_command", "read_only_paths"]

HOME = "/home/learner"
INSTALL_HINT = (
    "the grading sandbox needs bubblewrap (`bwrap`), which is not installed: as root run "
    "`apt-get install -y bubblewrap` (Debian/Ubuntu; `dnf install bubblewrap` on Fedora), or ask your "
    "administrator. `make test` and `make grade` install it themselves when run as root."
)
# /etc entries a Python process needs; the rest of /etc (shadow, ssh keys, ...) stays out.
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "passwd", "group", "nsswitch.conf", "mime.types")


# What the server keeps, in its own user namespace only, to confine each kernel (which drops them all).
SERVER_CAPABILITIES = ("CAP_SYS_ADMIN", "CAP_SETPCAP", "CAP_SYS_RESOURCE")


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create namespaces here."""


@dataclass(frozen=True)
class Limits:
    """Per-kernel caps."""

    memory_bytes: int = 4 * 2**30  # RLIMIT_AS: address space, what a runaway allocation hits first
    wall_seconds: int = 900  # the kernel is killed after this, whatever it is doing
    file_bytes: int = 64 * 2**20  # RLIMIT_FSIZE: the largest file it may write
    scratch_bytes: int = 256 * 2**20  # size of each tmpfs (working directory, home, /tmp)
    inodes: int = 4096  # files and folders in each tmpfs: a file flood ends there
    open_files: int = 1024  # RLIMIT_NOFILE
    processes: int = 128  # processes and threads of one kernel (a pids cgroup, or RLIMIT_NPROC)

    def __post_init__(self):
        for name, value in vars(self).items():
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"Invalid {name}: {value!r} (expected a positive int)")


def bubblewrap() -> str:
    """The path of ``bwrap``, or :class:`SandboxUnavailable` saying what to install."""
    path = shutil.which("bwrap")
    if path is None:
        raise SandboxUnavailable(INSTALL_HINT)
    return path


def read_only_paths(extra: Iterable[str] = ()) -> list[str]:
    """Host paths the kernel may read: the system's libraries, Python, the virtual environment, `extra`."""
    paths = ["/usr", sys.base_prefix, sys.prefix, *extra]
    paths += [p for p in ("/lib", "/lib64", "/lib32", "/bin", "/sbin") if os.path.lexists(p)]
    paths += [os.path.join("/etc", f) for f in ETC_FILES if os.path.exists(os.path.join("/etc", f))]
    return sorted({os.path.abspath(p) for p in paths})


def sandbox_command(
    command: list[str], *, sockets: str, env: Mapping[str, str], read_only: Iterable[str], limits: Limits
) -> list[str]:
    """``bwrap ... prlimit ... -- command``: the sandbox of a kernel server (:mod:`grading.forkserver`).

    Args:
        command: the server's command line (paths as on the host; they are the same inside).
        sockets: host directory of the server's socket and each kernel's, bound read-write at ``/run/grading``.
        env: the whole environment.
        read_only: host paths bound read-only at the same place (see :func:`read_only_paths`).
        limits: the caps; the server applies those of a kernel to each kernel.
    """
    args = [
        bubblewrap(),
        "--unshare-all",
        "--unshare-user",
        "--uid",
        "1000",
        "--gid",
        "1000",
        "--cap-drop",
        "ALL",
        *(arg for cap in SERVER_CAPABILITIES for arg in ("--cap-add", cap)),
        "--die-with-parent",
        "--new-session",
        "--hostname",
        "grading",
        "--clearenv",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
    ]
    for tmpfs in ("/tmp", HOME):  # first: a read-only path below /tmp (a course cloned there) is bound on top
        args += ["--size", str(limits.scratch_bytes), "--tmpfs", tmpfs]
    for path in read_only:
        if os.path.islink(path) and os.path.dirname(path) == "/":  # merged /usr: /bin -> usr/bin
            args += ["--symlink", os.readlink(path), path]
        elif os.path.exists(path):
            args += ["--ro-bind", path, path]
    args += ["--bind", sockets, "/run/grading", "--dir", "/run/kernel", "--chdir", "/"]
    for name, value in sorted(env.items()):
        args += ["--setenv", name, value]
    prlimit = [shutil.which("prlimit") or "/usr/bin/prlimit", f"--nofile={limits.open_files}", "--core=0", "--"]
    return [*args, "--", *prlimit, *command]
