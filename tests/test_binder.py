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
    included = {
        option: (BINDER / path).resolve()
        for option, path in (line.split() for line in lines if line.startswith(("-r ", "-c ")))
    }
    assert included.get("-r") == ROOT / "requirements.txt", (
        f"binder/requirements.txt does not include requirements.txt: {lines}"
    )
    assert included.get("-c") == ROOT / "constraints.txt", (
        f"binder/requirements.txt does not apply constraints.txt: {lines}"
    )


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
    viewers = json.loads((BINDER / "overrides.json").read_text())["@jupyterlab/docmanager-extension:plugin"][
        "defaultViewers"
    ]
    extension = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "jupyterlab-jupytext" / "static"
    factories = {
        name
        for js in extension.glob("*.js")
        for name in re.findall(r'FACTORY="([^"]+)"', js.read_text(errors="replace"))
    }
    assert factories, f"no jupytext Lab extension in {extension}"
    assert viewers.get("markdown") in factories, (
        f"overrides.json opens Markdown with {viewers}; jupytext provides {factories}"
    )


LAUNCH = re.compile(r'href="(https://(?:mybinder\.org|colab\.research\.google\.com|hub\.example\.org)[^"]+)"')


def launch_links(page: Path) -> dict[str, str]:
    """The page's launch buttons: Binder, JupyterHub and Colab, by the host they open."""
    links = {}
    for link in LAUNCH.findall(page.read_text()):
        links.setdefault(
            "binder" if "mybinder.org" in link else "colab" if "colab." in link else "hub", link.replace("&amp;", "&")
        )
    return links


def test_each_launch_button_opens_a_file_that_exists_and_colabs_installs_the_course(built_course, monkeypatch):
    course = built_course.path
    import yaml

    repository = yaml.safe_load((course / "_config.yml").read_text())["repository"]
    slug = repository["url"].removeprefix("https://github.com/").rstrip("/")
    for name in ("lessons/convergence", "lessons/optimizers", "release/dying_relu/dying_relu"):
        links = launch_links(course / "_build/html" / f"{name}.html")
        assert set(links) == {"binder", "hub", "colab"}, f"{name}: launch buttons {links}"
        source = f"{name}.md" if name.startswith("lessons/") else f"{name}.ipynb"
        assert links["binder"] == f"https://mybinder.org/v2/gh/{slug}/{repository['branch']}?urlpath=lab/tree/{source}"
        assert (course / source).exists(), f"Binder opens {source}, which the course does not have"
        assert (
            f"repo=https%3A//github.com/{slug}" in links["hub"]
            and f"urlpath=lab/tree/{slug.split('/')[1]}/{source}" in links["hub"]
        )
        published = links["colab"].split("/blob/gh-pages/", 1)[1]
        notebook = json.loads((course / "_build/html" / published).read_text())
        first = "".join(notebook["cells"][0]["source"])
        assert notebook["cells"][0]["cell_type"] == "code" and "pip" in first, f"{published}: no install cell first"
        assert f"relucourse @ git+{repository['url']}@{repository['branch']}" in first, f"{published} installs {first}"
        pin = next(line for line in (course / "constraints.txt").read_text().split() if line.startswith("myst-nb=="))
        assert pin in first, f"{published}: myst-nb is not installed at the course's pin {pin}"
        calls = []
        monkeypatch.setattr("subprocess.run", lambda *args, **kw: calls.append(args))
        exec(compile(first, published, "exec"), {})  # here both are installed: the cell must install nothing
        assert not calls, f"{published}: the install cell reinstalls where the course is installed: {calls}"
