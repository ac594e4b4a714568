"""grading.forkserver: kernels forked warm from one server, each on a machine the last one left as it was.

Every kernel here comes from the same server (its process is checked), as a grading worker's do: one
kernel patches modules, sets globals, writes files, starts a thread and a child process; the next one
sees none of it. A fork flood and a file flood stop at their caps within seconds, and the next kernel
starts as usual.
"""

import asyncio
import json
import os
import time
from pathlib import Path

import pytest

from grading.kernelmanager import GradingKernelManager
from grading.sandbox import read_only_paths

pytestmark = pytest.mark.grading

LEAVE = """
import json, numpy, os, subprocess, sys, threading, time, torch
numpy.leftover = "from the last student"
torch.relu = lambda x: "patched"
numpy.allclose = None
sys.modules["leftover_module"] = type(sys)("leftover_module")
for path in ("/tmp/leftover", os.path.expanduser("~/leftover"), "leftover.txt"):
    open(path, "w").write("from the last student")
threading.Thread(target=time.sleep, args=(600,)).start()
subprocess.Popen(["sleep", "601.25"])
print("{}")
"""

LOOK = """
import ctypes, json, numpy, os, sys, threading, torch
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
print(json.dumps({
    "capabilities": int(status["CapEff"], 16), "new_user_namespace": ctypes.CDLL(None).unshare(0x10000000),
    "numpy": hasattr(numpy, "leftover"), "relu": float(torch.relu(torch.tensor(-1.0))),
    "module": "leftover_module" in sys.modules, "allclose": callable(numpy.allclose), "threads": threading.active_count(),
    "files": [p for p in ("/tmp/leftover", os.path.expanduser("~/leftover"), "leftover.txt") if os.path.exists(p)],
    "tmp": os.listdir("/tmp"), "sockets": sorted(os.listdir("/run/kernel")) == sorted(os.listdir("/run/kernel")),
}))
"""

FORK_FLOOD = """
import json, os, time
made, error, start = 0, None, time.monotonic()
try:
    for _ in range(100_000):
        if os.fork() == 0:
            os.execv("/bin/sleep", ["sleep", "602.25"])
        made += 1
except OSError as e:
    error = e.errno
print(json.dumps({"made": made, "error": error, "seconds": time.monotonic() - start}))
"""

FILE_FLOOD = """
import json, os, time
made, start = {}, time.monotonic()
for folder in ("/tmp", os.path.expanduser("~"), ".", "/run/kernel"):
    n = 0
    try:
        for i in range(1_000_000):
            open(f"{folder}/flood{i}", "w").close()
            n += 1
    except OSError as e:
        made[folder] = [n, e.errno]
print(json.dumps({"made": made, "seconds": time.monotonic() - start}))
"""


async def _run(km: GradingKernelManager, cwd: Path, code: str) -> dict:
    await km.start_kernel(cwd=str(cwd))
    client = km.client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=120)
        printed = []
        await client.execute_interactive(
            code, timeout=120, output_hook=lambda m: printed.append(m["content"].get("text", ""))
        )
        return json.loads("".join(printed))
    finally:
        client.stop_channels()
        await km.shutdown_kernel(now=True)


def run(cwd: Path, code: str, **traits) -> tuple[dict, int]:
    """What `code` printed in a fresh kernel, and the pid of the server that forked it."""
    km = GradingKernelManager(**traits)
    seen = asyncio.run(_run(km, cwd, code))
    return seen, km.server.process.pid


def host_processes(marker: str, within: float = 10.0) -> list[int]:
    """The host's processes whose command line holds `marker`, once none is left or `within` seconds have passed.

    A kernel shut down `now` is killed by its warden after the kernel manager returns, so its processes
    may take a moment to go; a process that outlives the wait is one the sandbox let escape.
    """
    deadline = time.monotonic() + within
    while True:
        found = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                if marker in Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode():
                    found.append(int(pid))
            except OSError:
                pass
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


@pytest.fixture
def workdir(tmp_path) -> Path:
    (tmp_path / "dying_relu").mkdir()
    return tmp_path / "dying_relu"


def test_a_kernel_leaves_nothing_to_the_next(workdir):
    before, server = run(workdir, LOOK)
    assert before["capabilities"] == 0 and before["new_user_namespace"] == -1, f"a kernel keeps privileges: {before}"
    _, server_after_leaving = run(workdir, LEAVE)
    after, server_after_looking = run(workdir, LOOK)
    assert server == server_after_leaving == server_after_looking, "the kernels should come from one warm server"
    assert after == before, f"the last kernel's leftovers reached the next one: {before} -> {after}"
    assert (
        not after["numpy"] and after["relu"] == 0.0 and after["allclose"] and not after["module"] and not after["files"]
    )
    assert host_processes("sleep 601.25") == [], "the last kernel's child process outlived it"


def test_a_fork_flood_stops_at_the_cap_and_dies_with_its_kernel(workdir):
    flood, _ = run(workdir, FORK_FLOOD, process_limit=64)
    assert flood["error"] is not None and flood["made"] <= 64, f"the fork flood was not capped: {flood}"
    assert flood["seconds"] < 10, flood
    assert host_processes("sleep 602.25") == [], "the flood's processes outlived their kernel"
    again, _ = run(workdir, LOOK, process_limit=64)
    assert again["threads"] >= 1


def test_a_file_flood_stops_at_the_caps_and_no_file_reaches_the_socket_folder(workdir):
    fresh, _ = run(workdir, LOOK, scratch_inodes=2000)  # /tmp holds only the way to a course cloned below it
    flood, _ = run(workdir, FILE_FLOOD, scratch_inodes=2000)
    made = flood["made"]
    for folder in ("/tmp", "/home/learner", "."):
        assert made[folder][0] < 2000, f"{folder}: no inode cap: {flood}"
    assert made["/run/kernel"][0] == 0, f"the kernel could write into its socket folder: {flood}"
    assert flood["seconds"] < 20, flood
    again, _ = run(workdir, LOOK, scratch_inodes=2000)
    assert again["tmp"] == fresh["tmp"], f"the flood's files reached the next kernel: {again['tmp']}"


def test_a_read_only_path_below_tmp_stays_readable_under_the_kernels_fresh_tmp(tmp_path, workdir):
    shared = tmp_path / "clone" / "package"  # as a course cloned under /tmp, its virtual environment included
    shared.mkdir(parents=True)
    (shared / "below_tmp.py").write_text("ANSWER = 42\n")
    code = f"""
import json, os, sys
sys.path.insert(0, {str(shared)!r})
import below_tmp
try:
    open({str(shared / "written")!r}, "w")
    writable = True
except OSError:
    writable = False
print(json.dumps({{"answer": below_tmp.ANSWER, "writable": writable, "tmp": os.listdir("/tmp")}}))
"""
    seen, _ = run(workdir, code, extra_read_only=[str(shared)])
    assert seen["answer"] == 42 and not seen["writable"], seen
    below_tmp = {Path(p).relative_to("/tmp").parts[0] for p in read_only_paths([str(shared)]) if p.startswith("/tmp/")}
    assert sorted(seen["tmp"]) == sorted(below_tmp), "the kernel's /tmp should hold only the ways to read-only paths"
