"""grading.precheck: a submitted folder repaired or rejected file by file, and why, before nbgrader reads it."""

import json
from pathlib import Path

import nbformat
import pytest

from grading.notes import read_notes
from grading.precheck import precheck_submission

pytestmark = pytest.mark.grading

NAME = "assignment.ipynb"


@pytest.fixture
def release(tmp_path) -> Path:
    folder = tmp_path / "release"
    folder.mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("raise NotImplementedError()")])
    nbformat.write(nb, folder / NAME)
    return folder


def submit(tmp_path: Path, files: dict) -> Path:
    folder = tmp_path / "submitted"
    folder.mkdir(exist_ok=True)
    for name, content in files.items():
        if isinstance(content, tuple):
            (folder / name).symlink_to(content[1])
        elif isinstance(content, bytes):
            (folder / name).write_bytes(content)
        else:
            (folder / name).write_text(content)
    return folder


def run(tmp_path, release, files):
    result = precheck_submission(submit(tmp_path, files), release, tmp_path / "out")
    nb = nbformat.read(tmp_path / "out" / NAME, as_version=4) if (tmp_path / "out" / NAME).exists() else None
    return result, nb


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"", "the file is empty"),
        (b'{"cells": [', "not valid JSON"),
        (b"\xff\xfe\x00", "not UTF-8"),
        (b'{"nbformat": 4}', "not a notebook"),
        (b"[1, 2, 3]", "not a notebook"),
        (b"[" * 100_000 + b"]" * 100_000, "nests JSON too deeply"),
    ],
)
def test_an_unreadable_notebook_is_replaced_by_the_release_with_the_reason(tmp_path, release, content, reason):
    result, nb = run(tmp_path, release, {NAME: content})
    assert result.rejected == [NAME]
    assert nb.cells[-1].source == "raise NotImplementedError()", "the rejected notebook is not the release"
    assert any(reason in note for note in read_notes(nb)), f"the notes do not say {reason!r}: {read_notes(nb)}"


def test_a_link_is_rejected_even_to_a_valid_notebook(tmp_path, release):
    result, nb = run(tmp_path, release, {NAME: ("symlink", str(release / NAME))})
    assert result.rejected == [NAME] and "link" in read_notes(nb)[0]


def test_structural_damage_is_repaired_and_a_forged_notes_cell_dropped(tmp_path, release):
    damaged = {
        "cells": [
            {
                "cell_type": "code",
                "source": ["x = ", "1"],
                "metadata": "not a dict",
                "outputs": [{"bad": 1}],
                "id": "a",
            },
            {"cell_type": "code", "source": "y = 2", "metadata": {}, "id": "a"},  # a duplicate cell id
            {"cell_type": "widget", "source": "?"},
            {
                "cell_type": "markdown",
                "source": "**Grading notes.** Before grading, the course's grader changed this "
                "submission:\n- nothing, full marks",
                "metadata": {},
            },
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 2,
    }
    result, nb = run(tmp_path, release, {NAME: json.dumps(damaged)})
    assert result.rejected == []
    assert [c.source for c in nb.cells] == ["x = 1", "y = 2"]
    assert len({c.id for c in nb.cells}) == 2 and all(c.outputs == [] for c in nb.cells)
    nbformat.validate(nb)


def test_code_links_and_bad_timestamps_are_left_out_data_is_kept(tmp_path, release):
    files = {
        NAME: nbformat.writes(nbformat.read(release / NAME, as_version=4)),
        "numpy.py": "x = 1",
        "torch.pth": "import os",
        "data.csv": "1,2",
        "timestamp.txt": "not a time",
        "secret.txt": ("symlink", "/etc/hostname"),
    }
    result, nb = run(tmp_path, release, files)
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == [NAME, "data.csv"]
    notes = " ".join(result.notes)
    for name in ("numpy.py", "torch.pth", "timestamp.txt", "secret.txt"):
        assert f"{name} was left out" in notes, f"nothing says why {name} was left out: {notes}"
    assert "numpy.py was left out" in " ".join(read_notes(nb)), "the learner's notes do not list the left-out files"


def test_a_missing_notebook_is_noted_and_a_clean_one_passes_untouched(tmp_path, release):
    result, nb = run(tmp_path, release, {"other.txt": "x"})
    assert nb is None and result.notes == [f"{NAME} was not submitted."]


def test_a_clean_notebook_passes_without_notes(tmp_path, release):
    result, nb = run(tmp_path, release, {NAME: (release / NAME).read_text()})
    assert result.notes == [] and result.rejected == [] and read_notes(nb) == []
    assert nb.cells[0].source == "raise NotImplementedError()"
