"""grading.sandbox and grading.kernelmanager: a grading kernel sees its own files and the environment, nothing more."""

import asyncio
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from grading import sandbox
from grading.kernelmanager import GradingKernelManager, kernel_request, working_files
from grading.sandbox import Limits, SandboxUnavailable, sandbox_command

pytestmark = pytest.mark.grading

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import json, os, socket
seen = {}
seen["cwd"], seen["files"] = os.getcwd(), sorted(os.listdir("."))
seen["env"] = sorted(k for k in os.environ if "NBGRADER" in k or "SECRET" in k)
seen["course"] = [p for p in (ROOT + "/exercises", ROOT + "/gradebook.db", ROOT + "/nbgrader_config.py",
                              HOST_FILE) if os.path.exists(p)]
for name, target in (("data", "data.csv"), ("home", os.path.expanduser("~/x")), ("outside", HOST_DIR + "/x")):
    try:
        open(target, "a").write("x")
        seen[name] = "written"
    except OSError as error:
        seen[name] = type(error).__name__
try:
    socket.create_connection(("127.0.0.1", 22), timeout=2)
    seen["network"] = "connected"
except OSError as error:
    seen["network"] = type(error).__name__
try:
    hoard = bytearray(3 * 2**30)
    seen["memory"] = "allocated"
except MemoryError:
    seen["memory"] = "MemoryError"
print(json.dumps(seen))
"""


async def run_in_kernel(cwd: Path, code: str) -> dict:
    km = GradingKernelManager(memory_limit=2**31)
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


@pytest.fixture(scope="module")
def seen(tmp_path_factory, monkeypatch_module):
    if shutil.which("bwrap") is None:
        pytest.fail(sandbox.INSTALL_HINT)
    work = tmp_path_factory.mktemp("autograded") / "dying_relu"
    work.mkdir()
    (work / "data.csv").write_text("1,2\n")
    (work / "dying_relu.ipynb").write_text("{}")  # the notebook being graded holds hidden tests
    host_dir = tmp_path_factory.mktemp("host")
    (host_dir / "secret.txt").write_text("hidden")
    monkeypatch_module.setenv("NBGRADER_EXECUTION", "autograde")
    monkeypatch_module.setenv("SECRET_DB_PASSWORD", "hunter2")
    code = f"ROOT, HOST_FILE, HOST_DIR = {str(ROOT)!r}, {str(host_dir / 'secret.txt')!r}, {str(host_dir)!r}\n" + PROBE
    return asyncio.run(run_in_kernel(work, code))


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_the_kernel_sees_only_its_data_files(seen):
    assert seen["cwd"] == "/home/learner/dying_relu" and seen["files"] == ["data.csv"], seen
    assert seen["course"] == [], f"the sandbox shows the host's course files: {seen['course']}"


def test_the_kernel_writes_nowhere_that_lasts_and_reaches_nothing(seen):
    assert seen["data"] == "OSError" and seen["outside"] in ("OSError", "FileNotFoundError", "PermissionError"), seen
    assert seen["home"] == "written", "the kernel's home should be a scratch tmpfs"
    assert seen["network"] != "connected"


def test_the_kernel_gets_no_grader_environment_and_a_memory_cap(seen):
    assert seen["env"] == [], f"grader variables reached the kernel: {seen['env']}"
    assert seen["memory"] == "MemoryError"


def test_a_path_to_read_below_tmp_stays_visible(tmp_path):
    """A course cloned under /tmp keeps its .venv there: the scratch /tmp must not hide it."""
    assert str(tmp_path).startswith("/tmp/"), "the test needs a temporary directory below /tmp"
    (tmp_path / "venv").mkdir()
    (tmp_path / "venv" / "marker.txt").write_text("seen")
    (tmp_path / "sockets").mkdir()
    command = sandbox_command(["cat", str(tmp_path / "venv" / "marker.txt")], sockets=str(tmp_path / "sockets"),
                              env={"PATH": "/usr/bin:/bin"}, limits=Limits(),
                              read_only=sandbox.read_only_paths([str(tmp_path / "venv")]))  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.stdout == "seen", f"the sandbox hides {tmp_path / 'venv'}: {done.stderr}"


def test_working_files_leave_out_notebooks_and_links(tmp_path):
    (tmp_path / "a.ipynb").write_text("{}")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x.csv").write_text("1")
    (tmp_path / "link.csv").symlink_to("/etc/hostname")
    assert working_files(str(tmp_path)) == {"d/x.csv": str(tmp_path / "d" / "x.csv")}


def test_bad_arguments_and_a_missing_bubblewrap_are_explained(monkeypatch):
    with pytest.raises(ValueError, match="memory_bytes"):
        Limits(memory_bytes=0)
    with pytest.raises(ValueError, match="workdir"):
        kernel_request(Limits(), "/etc", {})
    with pytest.raises(ValueError, match="data file"):
        kernel_request(Limits(), "/home/learner/a", {"../x": "/x"})
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(SandboxUnavailable, match="apt-get install -y bubblewrap"):
        sandbox.bubblewrap()
