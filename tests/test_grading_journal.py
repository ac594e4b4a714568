"""grading.journal: the record that lets a stopped run resume, and the keys that say what changed."""

import json

import pytest

from grading.journal import Journal, tree_hash

pytestmark = pytest.mark.grading


def test_the_last_complete_entry_of_each_student_counts(tmp_path):
    journal = Journal(tmp_path / "j" / "journal.jsonl")
    journal.record({"student": "ana", "key": "k1", "score": 1})
    journal.record({"student": "bo", "key": "k2", "score": 2})
    journal.record({"student": "ana", "key": "k3", "score": 3})
    with open(journal.path, "a") as handle:
        handle.write('{"student": "cy", "key": "k4", "sco')  # torn by a crash
    entries = journal.entries()
    assert sorted(entries) == ["ana", "bo"] and entries["ana"]["score"] == 3
    assert journal.is_done("ana", "k3") and not journal.is_done("ana", "k1") and not journal.is_done("cy", "k4")


def test_an_entry_needs_a_student_and_a_key(tmp_path):
    with pytest.raises(ValueError, match="student"):
        Journal(tmp_path / "j.jsonl").record({"key": "k"})


def test_the_key_changes_with_any_file_and_only_then(tmp_path):
    folder = tmp_path / "s"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.ipynb").write_text(json.dumps({"cells": []}))
    (folder / "sub" / "data.csv").write_text("1")
    first = tree_hash(folder)
    assert tree_hash(folder) == first
    (folder / "sub" / "data.csv").write_text("2")
    assert tree_hash(folder) != first
    (folder / "sub" / "data.csv").write_text("1")
    assert tree_hash(folder) == first
    (folder / "b.txt").write_text("")
    assert tree_hash(folder) != first
