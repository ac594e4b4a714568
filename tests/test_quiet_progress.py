"""Progress bars show in JupyterLab and stay out of the built book (tools/build_book.py's kernel profile)."""

import importlib.util

import nbformat
import pytest
from course import ROOT
from nbclient import NotebookClient

pytestmark = pytest.mark.book

CELLS = [
    "import torch\nfrom tqdm.auto import tqdm\nfrom relucourse import Neuron, teacher_student_batches, train",
    "teacher = Neuron(1.0).requires_grad_(False)\nstudent = Neuron(0.5)\n"
    "train(student, teacher_student_batches(teacher, batch_size=10, seed=0),\n"
    "      optimizer=torch.optim.SGD(student.parameters(), lr=0.01), steps=20, progress=True);",
    "for _ in tqdm(range(5), disable=False, desc='direct'):\n    pass",
]


def outputs_of_a_run(monkeypatch, ipythondir) -> list[list[dict]]:
    """The outputs of CELLS, each cell's, run in a kernel that reads the IPython profile in `ipythondir`."""
    monkeypatch.setenv("IPYTHONDIR", str(ipythondir))  # the kernel inherits the environment
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in CELLS])
    NotebookClient(notebook, timeout=60, kernel_name="python3").execute()
    return [cell.outputs for cell in notebook.cells]


def build_book_module(ipythondir):
    spec = importlib.util.spec_from_file_location("build_book", ROOT / "tools" / "build_book.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.IPYTHONDIR = ipythondir
    return module


def test_progress_bars_show_in_a_notebook_but_not_in_the_book_build(monkeypatch, tmp_path):
    shown = outputs_of_a_run(monkeypatch, tmp_path / "plain")
    assert shown[1] and shown[2], (
        f"without the book's profile, train(progress=True) and tqdm should show a bar: {shown}"
    )
    environment = build_book_module(tmp_path / "book").quiet_kernels()
    quiet = outputs_of_a_run(monkeypatch, environment["IPYTHONDIR"])
    assert quiet == [[], [], []], f"the book's kernels still show progress output: {quiet}"
