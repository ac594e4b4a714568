"""What Binder (repo2docker) reads from binder/ to build the course's environment behind the book's launch buttons."""

import json
import os
import re
import sys
from pathlib import Path

import pytest

from course import ROOT

pytestmark = pytest.mark.book

BINDER = ROOT / "binder"


def test_binder_installs_the_pinned_requirements():
    lines = (BINDER / "requirements.txt").read_text().splitlines()
    included = {option: (BINDER / path).resolve() for option, path in (line.split() for line in lines if line.startswith(("-r ", "-c ")))}
    assert included.get("-r") == ROOT / "requirements.txt", f"binder/requirements.txt does not include requirements.txt: {lines}"
    assert included.get("-c") == ROOT / "constraints.txt", f"binder/requirements.txt does not apply constraints.txt: {lines}"


def test_binder_uses_the_python_the_course_is_tested_with():
    runtime = (BINDER / "runtime.txt").read_text().strip()
    assert runtime == f"python-{sys.version_info.major}.{sys.version_info.minor}", f"binder/runtime.txt says {runtime}"


def test_post_build_installs_the_package_and_releases_every_assignment():
    script = BINDER / "postBuild"
    assert os.access(script, os.X_OK), "binder/postBuild must be executable"
    text = script.read_text()
    assert text.startswith("#!") and "set -euo pipefail" in text
    assert re.search(r"pip install --no-deps -e \.", text), "postBuild does not install the course's package"
    assert "exercises/*/" in text and "nbgrader generate_assignment" in text, "postBuild does not release the exercises"
    assert "binder/overrides.json" in text


def test_lessons_open_as_notebooks_with_a_viewer_the_pinned_jupytext_provides():
    viewers = json.loads((BINDER / "overrides.json").read_text())["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"]
    extension = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "jupyterlab-jupytext" / "static"
    factories = {name for js in extension.glob("*.js") for name in re.findall(r'FACTORY="([^"]+)"', js.read_text(errors="replace"))}
    assert factories, f"no jupytext Lab extension in {extension}"
    assert viewers.get("markdown") in factories, f"overrides.json opens Markdown with {viewers}; jupytext provides {factories}"
