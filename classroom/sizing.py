"""``python -m classroom.sizing``: what a class of 300 needs, from measurements on this machine.

Measured here:

1. the memory of one user server: ``jupyter lab`` (what ``jupyterhub-singleuser`` runs, without the hub) in an
   empty folder, idle; then with one kernel, started through the server's REST API as JupyterLab starts one,
   that imports torch and relucourse and trains a neuron as a lesson does (a few hundred SGD steps, a figure).
   Summed over the server's process tree: RSS (each process's resident pages, shared ones counted in each) and
   PSS (shared pages divided among the processes sharing them, from /proc/<pid>/smaps_rollup);
2. the grading time per submission: ``python -m grading grade dying_relu --jobs J`` on N generated submissions
   (grading.bench's generated course: the reference solution, the untouched release, the plausible mistake).

Derived: the memory of 300 servers at once, and of a typical 30-50 % of them; the nodes of a given size that
holds; the grading time for 300 submissions on k cores. Runs in about two minutes.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
GIB = 1024**3
LESSON = """
import io, torch, relucourse
import matplotlib.pyplot as plt
from relucourse import Neuron, plot_loss, teacher_student_batches, train
teacher = Neuron(1.0).requires_grad_(False)
student = Neuron(0.5)
history = train(student, teacher_student_batches(teacher, batch_size=1000, seed=0),
                optimizer=torch.optim.SGD(student.parameters(), lr=0.1), steps=300)
fig, ax = plt.subplots()
plot_loss(history.loss, ax=ax)
fig.savefig(io.BytesIO(), format="png")
print(float(history.loss[-1]))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _kib(pid: int, field: str) -> int:
    """A field of /proc/<pid>/smaps_rollup in bytes, 0 where the kernel has no such file."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree_memory(pid: int) -> dict:
    """RSS and PSS summed over a process and its descendants, and how many processes that is."""
    import psutil

    root = psutil.Process(pid)
    processes = [root] + root.children(recursive=True)
    rss = pss = 0
    for process in processes:
        try:
            rss += process.memory_info().rss
            pss += _kib(process.pid, "Pss")
        except psutil.NoSuchProcess:
            pass
    return {"rss": rss, "pss": pss, "processes": len(processes)}


def _request(url: str, method: str = "GET", body: dict | None = None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Authorization": "token sizing"})
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read()
        return json.loads(text or b"{}") if "json" in response.headers.get("Content-Type", "") else text


def measure_server(settle_s: float = 3.0) -> dict:
    """One user server, idle, then with a lesson's kernel: memory of its process tree, the kernel's start."""
    from jupyter_client import BlockingKernelClient

    with tempfile.TemporaryDirectory(prefix="sizing-server-") as tmp:
        runtime, home = Path(tmp) / "runtime", Path(tmp) / "home"
        home.mkdir()
        port = _free_port()
        env = {
            **os.environ,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "HOME": str(home),
            "JUPYTER_RUNTIME_DIR": str(runtime),
            # as every user server on the hub: no formgrader of its own (classroom/user-config)
            "JUPYTER_CONFIG_PATH": str(ROOT / "classroom" / "user-config"),
        }
        command = [
            str(BIN / "jupyter"),
            "lab",
            "--no-browser",
            f"--port={port}",
            "--ServerApp.ip=127.0.0.1",
            "--ServerApp.token=sizing",
            f"--ServerApp.root_dir={home}",
        ]
        if os.geteuid() == 0:
            command.append("--allow-root")
        server = subprocess.Popen(command, cwd=home, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    _request(f"{base}/api/status")
                    break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("jupyter lab did not start:\n" + server.stderr.read().decode()[-2000:])
                    time.sleep(0.3)
            # what JupyterLab asks for when a student opens it: the page, settings, kernel specs, files
            for path in (
                "/lab",
                "/lab/api/settings",
                "/api/kernelspecs",
                "/api/sessions",
                "/api/contents",
                "/lab/api/translations",
            ):
                _request(base + path)
            time.sleep(settle_s)
            idle = tree_memory(server.pid)
            start = time.monotonic()
            kernel = _request(f"{base}/api/kernels", "POST", {"name": "python3"})
            client = BlockingKernelClient(connection_file=str(runtime / f"kernel-{kernel['id']}.json"))
            client.load_connection_file()
            client.start_channels()
            try:
                client.wait_for_ready(timeout=60)
                ready_s = time.monotonic() - start
                start = time.monotonic()
                peak, done = [0], threading.Event()

                def sample():  # the tree's RSS while the lesson runs, every 50 ms
                    while not done.is_set():
                        peak[0] = max(peak[0], tree_memory(server.pid)["rss"])
                        done.wait(0.05)

                sampler = threading.Thread(target=sample, daemon=True)
                sampler.start()
                try:
                    reply = client.execute_interactive(LESSON, timeout=300, output_hook=lambda msg: None)
                finally:
                    done.set()
                    sampler.join()
                lesson_s = time.monotonic() - start
                if reply["content"]["status"] != "ok":
                    raise RuntimeError(f"the lesson's code failed in the kernel: {reply['content']}")
                time.sleep(settle_s)
                busy = tree_memory(server.pid)
            finally:
                client.stop_channels()
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
    return {
        "idle": idle,
        "kernel": busy,
        "peak_rss": max(peak[0], busy["rss"]),
        "kernel_ready_s": ready_s,
        "lesson_s": lesson_s,
    }


def grade_once(submissions: int, jobs: int, assignment: str) -> tuple[float, int, str]:
    """(wall seconds, notebooks a submission, summary line) of `python -m grading grade` on a generated course."""
    from grading.bench import generate_course, make_grade

    with tempfile.TemporaryDirectory(prefix="sizing-grading-") as tmp:
        course = Path(tmp) / "course"
        course.mkdir()
        generate_course(course, assignment, submissions)
        graded = make_grade(course, assignment, jobs)
        notebooks = len(list((course / "release" / assignment).glob("*.ipynb")))
    return graded.seconds, notebooks, graded.output.strip().splitlines()[0] if graded.output.strip() else ""


def measure_grading(submissions: int, jobs: int, assignment: str = "dying_relu") -> dict:
    """Two runs, of a third of `submissions` and of all of them: the fixed part of a run (start, feedback,
    grades.csv) and what each further submission adds (the slope), in wall seconds with `jobs` workers."""
    few = max(jobs, submissions // 3)
    if submissions <= few:
        raise ValueError(f"Invalid submissions: {submissions} (expected more than {few}, for two runs)")
    runs = {n: grade_once(n, jobs, assignment) for n in (few, submissions)}
    (wall_few, notebooks, _), (wall_all, _, summary) = runs[few], runs[submissions]
    slope = max((wall_all - wall_few) / (submissions - few), 0.0)
    return {
        "assignment": assignment,
        "notebooks": notebooks,
        "jobs": jobs,
        "runs": {n: r[0] for n, r in runs.items()},
        "slope_s": slope,
        "fixed_s": max(wall_all - slope * submissions, 0.0),
        "summary": summary,
    }


def _gib(n: float) -> str:
    return f"{n / GIB:.2f} GiB"


def report(
    server: dict | None, grading: dict | None, students: int, node_gib: float, node_cpus: int, cores: list[int]
) -> str:
    from classroom.hubconfig import CPU_LIMIT, MEMORY_LIMIT
    from classroom.k8s import CPU_GUARANTEE, MEMORY_GUARANTEE

    def size(text: str) -> float:  # JupyterHub's ByteSpecification: "2G" is 2 GiB
        units = {"K": 1024, "M": 1024**2, "G": GIB, "T": 1024**4}
        return float(text[:-1]) * units[text[-1]] if text[-1] in units else float(text)

    lines = [f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, {sys.executable}"]
    if server:
        idle, busy = server["idle"], server["kernel"]
        lines += [
            "",
            "one user server (jupyter lab, process tree):",
            f"  idle:                       RSS {_gib(idle['rss'])}  PSS {_gib(idle['pss'])}  "
            f"({idle['processes']} process{'es' if idle['processes'] > 1 else ''})",
            f"  with a lesson's kernel:     RSS {_gib(busy['rss'])}  PSS {_gib(busy['pss'])}  "
            f"({busy['processes']} processes)",
            f"  peak while the lesson ran:  RSS {_gib(server['peak_rss'])}",
            f"  kernel ready in {server['kernel_ready_s']:.1f} s; import torch, relucourse + 300 SGD steps + a figure "
            f"in {server['lesson_s']:.1f} s",
            f"  hubconfig's limit MEMORY_LIMIT = {MEMORY_LIMIT} ({size(MEMORY_LIMIT) / GIB:.2f} GiB), "
            f"CPU_LIMIT = {CPU_LIMIT}; the chart's guarantee (classroom/k8s.py) {MEMORY_GUARANTEE}, CPU {CPU_GUARANTEE}",
        ]
        # the conservative figure: RSS counts the pages the server and its kernel share twice, so a pod's
        # cgroup is charged less (plus its page cache); the peak is what the limit must leave room for
        per_user = busy["rss"]
        lines += [
            "",
            f"{students} students, each with a lesson's kernel open ({_gib(per_user)} each, RSS after the lesson):",
        ]
        for share in (1.0, 0.5, 0.3):
            users = math.ceil(students * share)
            lines.append(
                f"  {share:>4.0%} at once = {users:>3} servers: {_gib(users * per_user):>11} in use, "
                f"{_gib(users * size(MEMORY_GUARANTEE)):>11} guaranteed, "
                f"{_gib(users * size(MEMORY_LIMIT)):>11} if every one reached the limit"
            )
        allocatable = node_gib * GIB * 0.9  # what a node leaves to pods after the kubelet's and system's reserve
        by_guarantee = min(int(allocatable // size(MEMORY_GUARANTEE)), int(node_cpus * 0.9 // CPU_GUARANTEE))
        by_use = int(allocatable // per_user)
        lines += [
            "",
            f"nodes of {node_gib:g} GiB and {node_cpus} cores (90 % allocatable):",
            f"  user pods per node: {by_guarantee} by the guarantees the scheduler packs, {by_use} by measured use",
        ]
        for share in (1.0, 0.5, 0.3):
            users = math.ceil(students * share)
            lines.append(
                f"  {share:>4.0%} at once ({users:>3}): {math.ceil(users / by_guarantee):>3} nodes "
                f"(guarantees), {math.ceil(users / by_use):>3} (measured use)"
            )
    if grading:
        core_s = grading["slope_s"] * grading["jobs"]  # one submission's cost in core-seconds
        runs = ", ".join(f"{n} in {wall:.1f} s" for n, wall in grading["runs"].items())
        lines += [
            "",
            f"grading ({grading['assignment']}, {grading['notebooks']} notebook(s) a submission, "
            f"python -m grading grade --jobs {grading['jobs']}):",
            f"  generated submissions: {runs} (whole command: pre-check, autograde, feedback, grades.csv)",
            f"  each submission adds {grading['slope_s']:.2f} s wall = {core_s:.1f} core-seconds; "
            f"a run's fixed part {grading['fixed_s']:.1f} s",
            f"  {students} submissions, --jobs k on k cores (workers scale linearly while each has a core):",
        ]
        for k in cores:
            total = grading["fixed_s"] + students * core_s / k
            lines.append(f"    k = {k:>2}: {total / 60:5.1f} min")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m classroom.sizing", description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--node-memory", type=float, default=64, help="GiB of one node (default 64)")
    parser.add_argument("--node-cpus", type=int, default=16, help="cores of one node (default 16)")
    parser.add_argument(
        "--submissions",
        type=int,
        default=12,
        help="generated submissions of the larger grading run (default 12; the other has a third)",
    )
    parser.add_argument("--jobs", type=int, default=2, help="grading workers (default 2)")
    parser.add_argument("--skip-server", action="store_true")
    parser.add_argument("--skip-grading", action="store_true")
    args = parser.parse_args(argv)
    if not args.skip_grading and not shutil.which("bwrap"):
        print("classroom.sizing: grading needs bubblewrap (bwrap): make sandbox, or --skip-grading", file=sys.stderr)
        return 2
    start = time.monotonic()
    server = None if args.skip_server else measure_server()
    grading = None if args.skip_grading else measure_grading(args.submissions, args.jobs)
    print(report(server, grading, args.students, args.node_memory, args.node_cpus, [2, 4, 8, 16, 32]))
    print(f"\n(measured in {time.monotonic() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
