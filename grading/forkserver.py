"""Warm grading kernels: one process in the sandbox imports torch once, then forks a fresh, confined kernel per notebook.

Starting a kernel costs a second and a half (a Python, IPython, ``import torch``); the tests of a
notebook run in a tenth of that. So each grading process starts, inside bubblewrap (see
:mod:`grading.sandbox`), one *server* that imports the heavy modules and waits. For each kernel the
grader asks (:func:`launch`, the command its kernel manager runs) the server forks:

* a *warden*, which gives what follows new mount, pid, network, IPC and UTS namespaces, kills it
  after the wall-clock cap or as soon as the grader drops the connection, and reports its end;
* the *kernel*, process 1 of its own pid namespace (so every process it starts dies with it), on
  fresh size- and inode-capped tmpfs for ``/tmp``, its home and its working directory (the data
  files copied in, read-only), its ZeroMQ sockets in its own directory, made read-only once they are
  bound; then its caps (memory, file size, open files, processes) are set, every capability dropped,
  and only then does :mod:`grading.kernel` answer the grader.

Nothing of one kernel survives it: its processes and threads die with its pid namespace, its files
with its mounts, and its module state with its copy-on-write memory. The server never runs a
notebook's code and serves one kernel at a time.

This module runs with the standard library only until :func:`serve` imports the kernel, so
:func:`launch` starts in milliseconds (``python -I -S grading/forkserver.py launch ...``).
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import select
import signal
import socket
import sys
import time

__all__ = ["KERNEL_DIR", "SERVER_DIR", "serve", "launch"]

SERVER_DIR = "/run/grading"  # inside the server: the host directory of every kernel's sockets
KERNEL_DIR = "/run/kernel"  # inside a kernel: its own socket directory, nothing else of SERVER_DIR
SOCKET = "server.sock"

CLONE_NEWUSER = 0x10000000
CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET = (
    0x20000,
    0x4000000,
    0x8000000,
    0x20000000,
    0x40000000,
)
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_DUMPABLE = 1, 4
PR_SET_NO_NEW_PRIVS, PR_CAPBSET_DROP, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 38, 24, 47, 4

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(
        _libc.mount(
            source and source.encode(),
            target.encode(),
            fstype and fstype.encode(),
            ctypes.c_ulong(flags),
            data and data.encode(),
        ),
        f"mount {target}",
    )


def _tmpfs(target: str, size: int, inodes: int) -> None:
    os.makedirs(target, exist_ok=True)
    _mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size},nr_inodes={inodes},mode=0755")


def _mounts_below(path: str) -> list[str]:
    """The topmost mount points strictly below `path` (a course cloned under /tmp, say)."""
    prefix = path.rstrip("/") + "/"
    with open("/proc/self/mountinfo") as handle:  # field 5: the mount point, with octal escapes
        points = [line.split()[4].encode().decode("unicode_escape") for line in handle]
    below = sorted({point for point in points if point.startswith(prefix)})
    return [point for point in below if not any(point.startswith(other + "/") for other in below)]


def _cover(target: str, size: int, inodes: int) -> None:
    """A fresh capped tmpfs on `target`, the read-only binds below it kept where they were."""
    kept = {point: os.open(point, os.O_PATH) for point in _mounts_below(target)}  # reachable once covered
    _tmpfs(target, size, inodes)
    for point, fd in kept.items():
        if os.path.isdir(f"/proc/self/fd/{fd}"):
            os.makedirs(point, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(point), exist_ok=True)
            open(point, "x").close()
        _mount(f"/proc/self/fd/{fd}", point, None, MS_BIND | MS_REC)  # nested binds keep their own read-only flag
        _mount(None, point, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
        os.close(fd)


def _read_only(path: str) -> None:
    _mount(path, path, None, MS_BIND)
    _mount(None, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _drop_capabilities() -> None:
    """No capability left, none to regain: the bounding and ambient sets emptied, no new privileges."""
    for cap in range(64):
        _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)  # fails past the last capability the kernel knows: fine
    _libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    _check(_libc.capset(ctypes.byref(_CapHeader(0x20080522, 0)), (_CapData * 2)()), "capset")


# --- the server, inside the sandbox ----------------------------------------------------------------


def serve(preload: list[str]) -> None:
    """Import `preload`, then fork a warden and a kernel for each connection to ``SERVER_DIR/server.sock``."""
    import importlib

    for name in preload:
        importlib.import_module(name)
    import grading.kernel  # noqa: F401  (IPython, ipykernel: what every kernel needs)

    _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)  # a kernel sees the server in /proc: it may not trace it or read it
    with open("/proc/sys/user/max_user_namespaces", "w") as handle:
        handle.write("1")  # the one each kernel enters (below): none of its own
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(os.path.join(SERVER_DIR, SOCKET))
    listener.listen(8)
    print("ready", flush=True)
    while True:
        connection, _ = listener.accept()
        warden = os.fork()
        if warden == 0:
            listener.close()
            try:
                _warden(connection)
            finally:
                os._exit(0)
        connection.close()
        os.waitpid(warden, 0)  # one kernel at a time: the next starts on a machine the last one has left


def _warden(connection: socket.socket) -> None:
    request = json.loads(connection.makefile().readline())
    deadline = time.monotonic() + request["wall_seconds"]
    _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS), "unshare")
    bound, locked = os.pipe(), os.pipe()
    kernel = os.fork()
    if kernel == 0:
        try:
            connection.close()
            _kernel(request, bound[1], locked[0])
        except BaseException as error:  # the grader sees a kernel that died; the reason goes to the server's log
            os.write(2, f"grading kernel setup failed: {error!r}\n".encode())
        os._exit(1)
    pidfd = os.pidfd_open(kernel)
    ready, _, _ = select.select([bound[0], pidfd], [], [], 120)
    if bound[0] in ready and os.read(bound[0], 1) == b"1":
        _read_only(KERNEL_DIR)  # the kernel shares this mount namespace, not these capabilities
        os.write(locked[1], b"1")
    ready, _, _ = select.select([connection, pidfd], [], [], max(0.0, deadline - time.monotonic()))
    if pidfd not in ready:  # the grader dropped the connection, or time is up
        os.kill(kernel, signal.SIGKILL)
    _, status = os.waitpid(kernel, 0)  # process 1 of the namespace: when it is reaped, all of it is gone
    try:
        connection.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())
    except OSError:
        pass


def _kernel(request: dict, bound: int, locked: int) -> None:
    """Process 1 of a new pid namespace: confine itself, then become the guarded kernel."""
    os.setsid()
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # the warden killed (by the kernel, say): the kernel too
    _libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # its own /proc/self readable again
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _mount(os.path.join(SERVER_DIR, request["id"]), KERNEL_DIR, None, MS_BIND)
    _tmpfs(SERVER_DIR, 4096, 1)  # covered: other kernels' folders, the server's socket
    size, inodes, home, workdir = request["scratch_bytes"], request["inodes"], request["home"], request["workdir"]
    for path in ("/tmp", home, workdir):
        _cover(path, size, inodes)
    for relative, content in request["files"].items():
        path = os.path.join(workdir, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(bytes.fromhex(content))
        _read_only(path)
    _enter_user_namespace(os.getuid(), os.getgid())  # single-threaded still: the last moment it can
    os.chdir(workdir)
    os.environ.clear()
    os.environ.update(request["env"])
    sys.path[0] = workdir  # as `python -m grading.kernel` started here would have it
    null = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.closerange(3, min(bound, locked))
    for fd in range(min(bound, locked) + 1, 1024):
        if fd not in (bound, locked):
            try:
                os.close(fd)
            except OSError:
                pass

    from grading import kernel

    app = kernel.application(["-f", os.path.join(KERNEL_DIR, "kernel.json")])  # binds the sockets
    os.write(bound, b"1")
    if os.read(locked, 1) != b"1":  # the warden made the socket folder read-only: no file flood there
        raise RuntimeError("the socket folder was not locked")
    os.close(bound)
    os.close(locked)
    for limit, value in (
        (resource.RLIMIT_AS, request["memory_bytes"]),
        (resource.RLIMIT_FSIZE, request["file_bytes"]),
        (resource.RLIMIT_NOFILE, request["open_files"]),
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_NPROC, request["processes"]),
    ):
        resource.setrlimit(limit, (value, value))
    _drop_capabilities()
    app.start()


def _enter_user_namespace(uid: int, gid: int) -> None:
    """A nested user namespace, the same ids inside: the server allows one, so the kernel can make none."""
    for _ in range(200):  # the last kernel's namespace is freed asynchronously
        if _libc.unshare(CLONE_NEWUSER) == 0:
            break
        time.sleep(0.01)
    else:
        _check(-1, "unshare user namespace")
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
        with open(f"/proc/self/{name}", "w") as handle:
            handle.write(text)


# --- the launcher, on the host: the kernel manager's kernel process ----------------------------------


def launch(server_socket: str, kernel_id: str, request_file: str) -> int:
    """Ask the server for the kernel `kernel_id`, then wait until it ends; its exit code.

    The kernel manager runs this as the kernel's process: killing it (shutdown, restart) makes the
    warden kill the kernel.
    """
    with open(request_file) as handle:
        request = json.load(handle)
    request["id"] = kernel_id
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.connect(server_socket)
    connection.sendall((json.dumps(request) + "\n").encode())
    answer = connection.makefile().readline().strip()
    return int(answer) if answer.lstrip("-").isdigit() else 1


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve(sys.argv[2:])
    elif sys.argv[1:2] == ["launch"] and len(sys.argv) == 5:
        sys.exit(launch(*sys.argv[2:]))
    else:
        sys.exit("usage: forkserver.py serve [module ...] | launch <server socket> <kernel id> <request file>")
