"""The grading journal: which submissions are graded, so a run stopped half-way resumes where it stopped.

One JSON line per student, appended (and flushed to disk) only after that student's grades are in the
gradebook and their autograded notebook is in place. An entry counts while its *key* matches: a hash
of the submission's files, of the assignment's source and of the grading configuration; a new
submission, a fixed hidden test or a changed grader grade the student again. A line torn by a crash
is ignored, so that student is graded again; grading writes grades (it never adds to them), so doing
a student twice cannot count anything twice.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

__all__ = ["Journal", "tree_hash"]


def tree_hash(*paths: Path) -> str:
    """sha256 over the relative names and contents of the files under `paths` (links by target name)."""
    digest = hashlib.sha256()
    for base in paths:
        digest.update(f"\0root:{base.name}".encode())
        if not os.path.lexists(base):
            continue
        entries = [base] if not base.is_dir() or base.is_symlink() else sorted(base.rglob("*"))
        for path in entries:
            name = path.relative_to(base).as_posix() if path != base else base.name
            if path.is_symlink():
                digest.update(f"\0link:{name}->{os.readlink(path)}".encode())
            elif path.is_file():
                digest.update(f"\0file:{name}\0".encode())
                with open(path, "rb") as handle:
                    for block in iter(lambda: handle.read(1 << 20), b""):
                        digest.update(block)
    return digest.hexdigest()


class Journal:
    """Append-only record of graded students at `path` (JSON lines)."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def entries(self) -> dict[str, dict]:
        """The last complete entry of each student."""
        done: dict[str, dict] = {}
        if not self.path.exists():
            return done
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a line torn by a crash
            if isinstance(entry, dict) and isinstance(entry.get("student"), str):
                done[entry["student"]] = entry
        return done

    def is_done(self, student: str, key: str) -> bool:
        return self.entries().get(student, {}).get("key") == key

    def record(self, entry: dict) -> None:
        """Append `entry` (with "student" and "key") durably."""
        if not isinstance(entry.get("student"), str) or not isinstance(entry.get("key"), str):
            raise ValueError(f"Invalid journal entry: {entry!r} (expected 'student' and 'key' strings)")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
