"""What the tests need to know about the course's layout: read from _toc.yml, never listed twice."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def toc_files() -> list[str]:
    """Every file the table of contents lists, in order, without suffix (as _toc.yml writes them)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part["chapters"]]
    return files


def lessons() -> list[Path]:
    return [ROOT / f"{name}.md" for name in toc_files() if name.startswith("lessons/")]


def assignments() -> list[str]:
    return sorted(p.name for p in (ROOT / "exercises").iterdir() if p.is_dir())
