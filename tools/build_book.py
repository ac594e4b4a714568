"""Build the executed book into _build/html.

1. Student copies of every assignment (nbgrader, no gradebook) into release/, the only form the book shows.
2. Pages that import relucourse lose their cached execution when the package's source has changed, and
   pages that import grading (the instructor page's sample report) when grading/, the exercises or their
   fixtures have: no page shows a figure or an output from an old version of what made it.
3. jupyter-book builds, warnings as errors. The kernels that execute the pages start with progress
   bars switched off (a page would show a bar as noise, and no one watches it) and with the repository
   on their path, so a page can import grading/, which is not installed.
4. Each notebook the book publishes under _sources/ (what the Colab button opens) gets a first cell that
   installs the course's package from the repository, and myst-nb, at the course's pins, where they are
   missing (on Colab; in Binder, on the hub and in `make lab` they are there and the cell does nothing).
"""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "_build"
CACHE = BUILD / ".jupyter_cache"
FINGERPRINTS = CACHE / "sources.json"
DOCTREES = BUILD / ".doctrees"
# package a page may import -> the folders whose files its outputs depend on
SOURCES = {"relucourse": ["relucourse"], "grading": ["grading", "relucourse", "exercises", "tests/fixtures"]}
IMPORTS = {name: re.compile(rf"^\s*(from|import)\s+{name}\b", re.MULTILINE) for name in SOURCES}
BIN = Path(sys.executable).parent
IPYTHONDIR = BUILD / "ipython"  # the IPython profile of the kernels that execute the lessons
QUIET_PROGRESS = """\
# Written by tools/build_book.py: kernels that execute a lesson for the book show no progress bar.
import tqdm.std

_init = tqdm.std.tqdm.__init__


def _silent_init(self, *args, **kwargs):
    kwargs["disable"] = True  # overrides the caller's: tqdm.auto, tqdm.notebook and tqdm.std all come here
    _init(self, *args, **kwargs)


tqdm.std.tqdm.__init__ = _silent_init
"""


COLAB_CELL = """\
# On Colab: the course's package and myst-nb (the lessons' glue), at the course's pins. Elsewhere they are installed already.
import importlib.util, subprocess, sys
if importlib.util.find_spec("relucourse") is None or importlib.util.find_spec("myst_nb") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", {packages}], check=True)
"""


def fingerprints() -> dict[str, str]:
    """package -> sha256 over the files of its SOURCES (Python, notebooks, fixtures), names included."""
    found = {}
    for name, folders in SOURCES.items():
        digest = hashlib.sha256()
        for folder in folders:
            for path in sorted((ROOT / folder).rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                    digest.update(str(path.relative_to(ROOT)).encode())
                    digest.update(path.read_bytes())
        found[name] = digest.hexdigest()
    return found


def release_student_copies() -> None:
    for assignment in sorted(p.name for p in (ROOT / "exercises").iterdir() if p.is_dir()):
        run([BIN / "nbgrader", "generate_assignment", assignment, "--no-db", "--force", "--log-level=WARN"])


def forget_stale_executions() -> None:
    """Drop the cached runs of pages that import a package whose SOURCES changed since they ran.

    Sphinx re-reads only the sources it sees changed, so its doctrees go too: every page is read again,
    and pages whose cached run is still valid take it from the cache without running.
    """
    before = json.loads(FINGERPRINTS.read_text()) if FINGERPRINTS.exists() else {}
    changed = [name for name, digest in fingerprints().items() if before.get(name) != digest]
    if not CACHE.exists() or not changed:
        return
    from jupyter_cache import get_cache

    cache = get_cache(CACHE)
    stale = 0
    for record in cache.list_cache_records():
        source = Path(record.uri)
        text = source.read_text(encoding="utf-8") if source.exists() else ""
        if not source.exists() or any(IMPORTS[name].search(text) for name in changed):
            cache.remove_cache(record.pk)
            stale += 1
    shutil.rmtree(DOCTREES, ignore_errors=True)
    print(f"{', '.join(changed)} changed: {stale} cached page run(s) will be executed again")


def quiet_kernels() -> dict[str, str]:
    """The environment for jupyter-book: its kernels read an IPython profile whose startup silences tqdm,
    and import from the repository (grading/) first."""
    startup = IPYTHONDIR / "profile_default" / "startup"
    startup.mkdir(parents=True, exist_ok=True)
    (startup / "00-quiet-progress.py").write_text(QUIET_PROGRESS)
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "IPYTHONDIR": str(IPYTHONDIR), "PYTHONPATH": path}


def colab_packages() -> list[str]:
    """The course's package from its repository (_config.yml's repository) and myst-nb at constraints.txt's pin."""
    import yaml

    repository = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]
    pins = dict(line.split("==") for line in (ROOT / "constraints.txt").read_text().split() if "==" in line)
    return [
        f"relucourse @ git+{repository['url'].rstrip('/')}@{repository.get('branch', 'main')}",
        f"myst-nb=={pins['myst-nb']}",
    ]


def install_cell_for_colab() -> None:
    """Put COLAB_CELL first in every notebook published under _build/html/_sources/ (once)."""
    cell = {
        "cell_type": "code",
        "execution_count": None,
        "id": "colab-install",
        "metadata": {"tags": ["colab-install"]},
        "outputs": [],
        "source": COLAB_CELL.format(packages=", ".join(map(repr, colab_packages()))),
    }
    for path in (BUILD / "html" / "_sources").rglob("*.ipynb"):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        if not notebook["cells"] or notebook["cells"][0].get("id") != "colab-install":
            notebook["cells"].insert(0, cell)
            notebook["nbformat_minor"] = max(notebook.get("nbformat_minor", 5), 5)  # cell ids: nbformat 4.5
            path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False), encoding="utf-8")


def run(command: list, env: dict[str, str] | None = None) -> None:
    subprocess.run([str(c) for c in command], cwd=ROOT, check=True, env=env)


def main() -> None:
    release_student_copies()
    forget_stale_executions()
    run([BIN / "jupyter-book", "build", ROOT, "--warningiserror", "--keep-going"], env=quiet_kernels())
    install_cell_for_colab()
    CACHE.mkdir(parents=True, exist_ok=True)
    FINGERPRINTS.write_text(json.dumps(fingerprints()))
    print(f"\nThe book: {BUILD / 'html' / 'index.html'}")


if __name__ == "__main__":
    main()
