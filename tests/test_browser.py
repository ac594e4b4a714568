"""The learner's view in headless Chromium: every page of the built book, and a lesson and an exercise run in JupyterLab.

Chromium is Debian's (`apt-get install chromium chromium-driver`, /usr/bin/chromium), driven by Playwright
(never `playwright install`). The book is built once in a copy of the course (tests/conftest.py) and served
on 127.0.0.1. Each page that _toc.yml lists is visited once; a screenshot of it goes to
<copy>/_build/screenshots/ (the path is printed at the end of the run) for a person to look at.
"""

import functools
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import nbformat
import pytest
from course import ROOT, autograded_points, exercise_source, solution_lines, toc_files

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
PAGES = toc_files()
LESSONS = [name for name in PAGES if name.startswith("lessons/")]
EXERCISES = [name for name in PAGES if exercise_source(name)]
NOTEBOOK_PAGES = LESSONS + EXERCISES
RAW_TEX = re.compile(r"\$\$|\\begin\{|\\\(|\\\[")  # what MathJax would have replaced
PROGRESS_BAR = re.compile(r"\d+%\|.*\|\s*\d+/\d+|it/s\]")  # tqdm's text
IMAGE_FILE = re.compile(r"\.(?:png|svg|jpe?g|gif|webp)$", re.IGNORECASE)


def pinned(package: str) -> str:
    """The version requirements.txt pins `package` to."""
    match = re.search(rf"^{re.escape(package)}==(\S+)", (ROOT / "requirements.txt").read_text(), re.MULTILINE)
    assert match, f"requirements.txt does not pin {package}"
    return match.group(1)


# ---------------------------------------------------------------- the browser and the served book


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    """A fresh Chromium profile driven by Playwright; a missing Chromium fails in CI and skips elsewhere."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: apt-get install chromium chromium-driver (Debian's packages)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            tmp_path_factory.mktemp("chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
        )
        yield context
        context.close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@dataclass
class Book:
    html: Path  # _build/html of the copy
    url: str  # where it is served, ending in /
    screenshots: Path


@pytest.fixture(scope="module")
def book(built_course):
    html = built_course.path / "_build" / "html"
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(html)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    screenshots = built_course.path / "_build" / "screenshots"
    screenshots.mkdir(parents=True, exist_ok=True)
    yield Book(html, f"http://127.0.0.1:{server.server_address[1]}/", screenshots)
    server.shutdown()
    server.server_close()


@dataclass
class Visit:
    name: str
    errors: list[str]  # console errors, uncaught exceptions, failed requests
    title: str
    images: list[dict]  # src, loaded, alt (None: no attribute), content (inside the article, not the theme's)
    maths: int  # elements holding TeX
    typeset: int  # of those, how many MathJax replaced
    mathjax: bool
    prose: str  # the article's text without code
    text: str  # the article's visible text, code included
    links: list[str]
    citations: list[str]  # entries of a bibliography on the page
    stderr: int  # stderr output blocks


INSPECT = """async () => {
  const images = [...document.images];
  images.forEach(image => { image.loading = 'eager'; });
  await Promise.all(images.map(image => image.complete ? null : new Promise(done => {
    image.addEventListener('load', done, {once: true});
    image.addEventListener('error', done, {once: true});
    setTimeout(done, 10000);
  })));
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  const article = document.querySelector('article.bd-article') || document.querySelector('main') || document.body;
  const maths = [...article.querySelectorAll('.math')];
  const prose = article.cloneNode(true);
  prose.querySelectorAll('pre, code, script, style, mjx-container').forEach(node => node.remove());
  return {
    title: (article.querySelector('h1') || {}).textContent || '',
    images: images.map(image => ({src: image.currentSrc || image.src, loaded: image.complete && image.naturalWidth > 0,
                                  alt: image.getAttribute('alt'), content: article.contains(image)})),
    maths: maths.length,
    typeset: maths.filter(node => node.querySelector('mjx-container')).length,
    mathjax: Boolean(window.MathJax && window.MathJax.version),
    prose: prose.textContent,
    text: article.innerText,
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    citations: [...article.querySelectorAll('.citation')].map(node => node.innerText),
    stderr: article.querySelectorAll('.output.stderr, .cell_output .stderr').length,
  };
}"""


@pytest.fixture(scope="module")
def visit(chromium, book):
    """visit(name): load the page once, wait for its images and MathJax, save a screenshot, and return what it shows."""

    @functools.cache
    def load(name: str) -> Visit:
        page = chromium.new_page()
        errors = []

        def console(message) -> None:
            if message.type == "error":
                errors.append(f"console error: {message.text} ({message.location.get('url')})")

        def response(answer) -> None:
            if answer.status >= 400:
                errors.append(f"HTTP {answer.status}: {answer.url}")

        page.on("console", console)
        page.on("pageerror", lambda error: errors.append(f"uncaught exception: {error}"))
        page.on("requestfailed", lambda request: errors.append(f"request failed: {request.url} ({request.failure})"))
        page.on("response", response)
        page.goto(book.url + f"{name}.html", wait_until="load")
        seen = page.evaluate(INSPECT)
        page.screenshot(path=book.screenshots / f"{name.replace('/', '__')}.png", full_page=True)
        page.close()
        return Visit(name=name, errors=errors, **seen)

    return load


# ---------------------------------------------------------------- every page of the book


@pytest.mark.parametrize("name", PAGES)
def test_page_loads_without_console_errors(visit, name):
    errors = visit(name).errors
    assert not errors, f"{name}: " + "\n".join(errors)


def alt_text_problem(alt: str | None, src: str) -> str | None:
    """Why `alt` does not describe the image at `src` (missing, empty, or only its path or file name); None if it may."""
    text = (alt or "").strip()
    if not text:
        return "no alt text" if alt is None else "an empty alt text"
    file_name = unquote(urlsplit(src).path).rsplit("/", 1)[-1] if not src.startswith("data:") else ""
    if IMAGE_FILE.search(text) or re.match(r"(?:\.\./)*_images\b", text) or "/_images/" in text or text == file_name:
        return f"alt text {text!r} is the image's path, not a description"
    return None


@pytest.mark.parametrize("name", PAGES)
def test_every_image_has_loaded(visit, name):
    images = visit(name).images
    broken = [image["src"] for image in images if not image["loaded"]]
    assert not broken, f"{name}: images that did not load (natural width 0): {broken}"
    unreadable = [f"{image['src'][:80]}: {problem}" for image in images if image["content"]
                  if (problem := alt_text_problem(image["alt"], image["src"]))]  # fmt: skip
    assert not unreadable, (
        f"{name}: figures without an alt text saying what they show (give the code cell the option mystnb: image: alt:, "
        "or animation_html(..., alt=...)):\n" + "\n".join(unreadable)
    )


@pytest.mark.parametrize("name", PAGES)
def test_maths_is_typeset(visit, name):
    seen = visit(name)
    if seen.maths:
        assert seen.mathjax, f"{name}: has {seen.maths} formulas but MathJax did not load"
        assert seen.typeset == seen.maths, f"{name}: MathJax typeset {seen.typeset} of {seen.maths} formulas"
    raw = sorted({match.group() for match in RAW_TEX.finditer(seen.prose)})
    assert not raw, f"{name}: raw TeX left in the text ({raw}): " + ", ".join(
        repr(seen.prose[max(m.start() - 40, 0) : m.end() + 40]) for m in list(RAW_TEX.finditer(seen.prose))[:3]
    )


@pytest.mark.parametrize("name", PAGES)
def test_internal_links_resolve(visit, book, name):
    broken = []
    for link in visit(name).links:
        parts = urlsplit(link)
        if not link.startswith(book.url):
            continue  # another site: not checked (no network here)
        target = book.html / unquote(parts.path).lstrip("/")
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            broken.append(f"{link}: no such file")
        elif parts.fragment and target.suffix == ".html":
            ids = re.findall(r'\sid="([^"]+)"', target.read_text(encoding="utf-8"))
            if unquote(parts.fragment) not in ids:
                broken.append(f"{link}: no element with id {parts.fragment!r}")
    assert not broken, f"{name}: broken links:\n" + "\n".join(broken)


@pytest.mark.parametrize("name", PAGES)
def test_no_error_stderr_or_progress_bar_in_the_page(visit, name):
    seen = visit(name)
    assert seen.stderr == 0, f"{name}: shows {seen.stderr} stderr output(s) (warnings, progress bars): quieten the cell"
    assert not PROGRESS_BAR.search(seen.text), (
        f"{name}: shows a progress bar: {PROGRESS_BAR.search(seen.text).group()!r}"
    )
    assert "Traceback" not in seen.text, f"{name}: shows a traceback"


# ---------------------------------------------------------------- search, exercises, citations, launch buttons


@pytest.mark.parametrize("lesson", LESSONS)
def test_search_finds_the_lesson(chromium, book, visit, lesson):
    title = visit(lesson).title.strip().rstrip("#").strip()
    assert title, f"{lesson}: no title"
    page = chromium.new_page()
    page.goto(book.url + f"search.html?q={quote(title)}")
    page.wait_for_function(
        "() => (document.querySelector('#search-results .search-summary') || {}).textContent", timeout=30000
    )
    found = page.eval_on_selector_all("#search-results ul.search li a", "links => links.map(a => a.href)")
    page.screenshot(path=book.screenshots / f"search__{Path(lesson).name}.png")
    page.close()
    assert any(urlsplit(href).path.endswith(f"/{lesson}.html") for href in found), (
        f"searching for {title!r} does not list {lesson}; it lists {found}"
    )


@pytest.mark.parametrize("name", EXERCISES)
def test_exercise_page_shows_no_solution_and_no_hidden_test(visit, name):
    text = visit(name).text
    assert "NotImplementedError" in text, f"{name}: the learner's answer cells are missing"
    markers = sorted(set(re.findall(r"(?:BEGIN|END) (?:SOLUTION|HIDDEN TESTS)", text)))
    assert not markers, f"{name}: shows nbgrader markers {markers}"
    leaked = [line for line in solution_lines(exercise_source(name)) if line in text]
    assert not leaked, f"{name}: shows solution or hidden-test code: {leaked[:3]}"


def cited_keys(name: str) -> list[str]:
    """Every key that the source of page `name` cites, in order, repeats included."""
    source = ROOT / f"{name}.md"
    if not source.exists():
        return []
    roles = re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", source.read_text(encoding="utf-8"))
    return [key.strip() for role in roles for key in role.split(",")]


def bib_titles() -> dict[str, str]:
    """key -> title of each entry of the book's bibliography, braces dropped, lower case."""
    text = (ROOT / "book" / "references.bib").read_text(encoding="utf-8")
    titles = {}
    for key, body in re.findall(r"@\w+\{([^,\s]+),(.*?)\n\}", text, re.DOTALL):
        title = re.search(r"\btitle\s*=\s*\{((?:[^{}]|\{[^{}]*\})*)\}", body)
        if title:
            titles[key] = " ".join(title.group(1).replace("{", "").replace("}", "").split()).lower()
    return titles


def test_citations_render_and_the_references_page_lists_the_cited_works(visit, book):
    sources = {name: ROOT / f"{name}.md" for name in PAGES if (ROOT / f"{name}.md").exists()}
    bibliography = [name for name, source in sources.items() if "{bibliography}" in source.read_text()]
    assert len(bibliography) == 1, (
        f"expected one references page with a {{bibliography}} directive, found {bibliography}"
    )
    references = bibliography[0]
    cited = {name: cited_keys(name) for name in PAGES}
    assert any(cited.values()), "no page cites anything"
    for name, keys in cited.items():
        if keys:
            seen = visit(name)
            links = [link for link in seen.links
                     if urlsplit(link).path.endswith(f"/{references}.html") and urlsplit(link).fragment]  # fmt: skip
            assert len(links) >= len(keys), f"{name}: cites {len(keys)} works but shows {len(links)} citation links"
            assert "{cite" not in seen.prose, f"{name}: a raw {{cite}} role is left in the text"
    keys = {key for keys in cited.values() for key in keys}
    entries = visit(references).citations
    assert len(entries) == len(keys), f"{references} lists {len(entries)} works; the pages cite {len(keys)}"
    listed = " ".join(" ".join(entries).split()).lower()
    titles = bib_titles()
    missing = [key for key in keys if titles.get(key, key) not in listed]
    assert not missing, f"{references} does not list the cited works {missing}"


@pytest.mark.parametrize("name", NOTEBOOK_PAGES)
def test_launch_buttons_open_the_page_in_binder_jupyterhub_and_colab(visit, book, built_course, name):
    links = visit(name).links
    source = next(p for p in (built_course.path / f"{name}{suffix}" for suffix in (".md", ".ipynb")) if p.exists())
    path = source.relative_to(built_course.path).as_posix()
    binder = [link for link in links if "mybinder.org/v2/" in link]
    assert binder and binder[0].endswith(f"urlpath=lab/tree/{path}"), (
        f"{name}: Binder link {binder} does not open {path}"
    )
    hub = [link for link in links if "/hub/user-redirect/git-pull?" in link]
    assert hub and f"{path}&" in unquote(hub[0]), f"{name}: JupyterHub link {hub} does not open {path}"
    colab = [link for link in links if link.startswith("https://colab.research.google.com/github/")]
    assert colab and colab[0].endswith(f"/_sources/{name}.ipynb"), (
        f"{name}: Colab link {colab} misses the published notebook"
    )
    assert (book.html / "_sources" / f"{name}.ipynb").is_file(), (
        f"{name}: the book does not publish _sources/{name}.ipynb"
    )


# ---------------------------------------------------------------- JupyterLab


@dataclass
class Lab:
    url: str
    token: str
    screenshots: Path
    root: Path  # the course directory the server (and its formgrader) runs in


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def lab(built_course, tmp_path_factory):
    """A real Jupyter server (JupyterLab) on 127.0.0.1 with a token, rooted at the built copy of the course."""
    home = tmp_path_factory.mktemp("jupyter")
    settings = home / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    # no news and no update check: they would reach out to the internet
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    token, port = secrets.token_hex(16), free_port()
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={built_course.path}",
        "--LabApp.expose_app_in_browser=True", f"--LabApp.user_settings_dir={home / 'settings'}",
        f"--LabApp.workspaces_dir={home / 'workspaces'}", "--LabApp.extension_manager=readonly", "--LabApp.news_url=None",
    ]  # fmt: skip
    if os.geteuid() == 0:
        command.append("--allow-root")  # CI runs as root
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",  # nbgrader runs alembic by name
        "JUPYTER_CONFIG_DIR": str(home / "config"),  # no user configuration
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
    }
    log = open(home / "server.log", "w")
    server = subprocess.Popen(command, cwd=built_course.path, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, f"the Jupyter server stopped:\n{(home / 'server.log').read_text()[-3000:]}"
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                assert time.monotonic() < deadline, (
                    f"no answer from the Jupyter server:\n{(home / 'server.log').read_text()[-3000:]}"
                )
                time.sleep(0.5)
        screenshots = built_course.path / "_build" / "screenshots" / "jupyterlab"
        screenshots.mkdir(parents=True, exist_ok=True)
        yield Lab(url, token, screenshots, built_course.path)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="module")
def lab_page(chromium, lab):
    """JupyterLab open in Chromium, its application object (window.jupyterapp) restored."""
    page = chromium.new_page()
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(f"{lab.url}/lab?token={lab.token}")
    page.wait_for_function("() => window.jupyterapp !== undefined", timeout=90000)
    page.evaluate("() => window.jupyterapp.restored")
    yield page
    page.close()


OPEN = """async ([path, factory]) => {
  const app = window.jupyterapp;
  const panel = await app.commands.execute('docmanager:open', factory ? {path, factory} : {path});
  await panel.context.ready;
  await panel.sessionContext.ready;
  return panel.content.model.cells.length;
}"""

RUN_CELL = """async (index) => {
  const panel = window.jupyterapp.shell.currentWidget;
  panel.content.activeCellIndex = index;
  const timeout = new Promise((_, fail) => setTimeout(() => fail(new Error(`cell ${index} still running after 120 s`)), 120000));
  await Promise.race([window.jupyterapp.commands.execute('notebook:run-cell'), timeout]);
}"""

OUTPUTS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const cells = [];
  for (const cell of panel.content.model.cells) {
    if (cell.type !== 'code') continue;
    cells.push({
      executed: cell.executionCount !== null,
      nbgrader: cell.getMetadata('nbgrader') || {},
      outputs: cell.outputs.toJSON().map(o => ({type: o.output_type, ename: o.ename || null, mimes: Object.keys(o.data || {})})),
    });
  }
  const images = [...panel.node.querySelectorAll('.jp-OutputArea-output img')];
  return {cells, shownOutputs: panel.node.querySelectorAll('.jp-OutputArea-output').length,
          shownImages: images.filter(i => i.complete && i.naturalWidth > 0).length,
          shownWidgets: panel.node.querySelectorAll('.jp-OutputArea-output .jupyter-widgets').length};
}"""


def run_in_lab(page, path: str, factory: str | None = None) -> dict:
    """Open `path` in JupyterLab (with `factory`, as "Open With" does), run every cell one after the other, return the outputs."""
    cells = page.evaluate(OPEN, [path, factory])
    for index in range(cells):
        page.evaluate(RUN_CELL, index)
    return page.evaluate(OUTPUTS)


def test_nbgrader_and_jupytext_lab_extensions_are_installed_at_the_pinned_versions(lab, lab_page):
    extensions = {
        e["name"]: e for e in json.load(urllib.request.urlopen(f"{lab.url}/lab/api/extensions?token={lab.token}"))
    }
    wanted = {
        "@jupyter/nbgrader": pinned("nbgrader"),
        "jupyterlab-jupytext": None,
        "@jupyter-widgets/jupyterlab-manager": None,
    }
    for name, version in wanted.items():
        assert name in extensions, f"JupyterLab lacks the extension {name}: it has {sorted(extensions)}"
        assert extensions[name]["enabled"] and extensions[name]["status"] == "ok", f"{name}: {extensions[name]}"
        if version:
            installed = extensions[name]["installed_version"]
            assert installed == version, f"{name} is {installed}, requirements.txt pins {version}"
    commands = ["nbgrader:open-formgrader", "nbgrader:open-assignment-list", "nbgrader:open-create-assignment"]
    missing = lab_page.evaluate(
        "(names) => names.filter(name => !window.jupyterapp.commands.hasCommand(name))", commands
    )
    assert not missing, f"JupyterLab lacks nbgrader's commands {missing}"
    menus = lab_page.locator(".lm-MenuBar-itemLabel").all_inner_texts()
    assert "Nbgrader" in menus, f"no Nbgrader menu in JupyterLab's menu bar: {menus}"


def test_formgrader_lists_the_assignments(chromium, lab, lab_page):
    assignments = sorted({Path(name).parts[1] for name in EXERCISES})
    assert assignments, "no exercise in _toc.yml"
    page = chromium.new_page()
    page.goto(f"{lab.url}/formgrader")  # the Lab page's login cookie is shared
    page.wait_for_selector(f"text={assignments[0]}", timeout=60000)
    text = page.inner_text("body")
    page.screenshot(path=lab.screenshots / "formgrader.png")
    page.close()
    missing = [assignment for assignment in assignments if assignment not in text]
    assert "Manage Assignments" in text and not missing, f"the formgrader does not list {missing}:\n{text[:500]}"


@pytest.mark.parametrize("lesson", LESSONS[:1])
def test_a_lesson_opens_as_a_notebook_and_runs_in_jupyterlab(lab, lab_page, lesson):
    path = f"{lesson}.md"
    factories = lab_page.evaluate(
        "(path) => window.jupyterapp.docRegistry.preferredWidgetFactories(path).map(f => f.name)", path
    )
    notebook = [name for name in factories if "Notebook" in name]
    assert notebook, f"JupyterLab cannot open {path} as a notebook (Open With offers {factories}): is jupytext missing?"
    ran = run_in_lab(lab_page, path, notebook[0])
    lab_page.screenshot(path=lab.screenshots / f"{lesson.replace('/', '__')}.png")
    cells = ran["cells"]
    assert cells and all(cell["executed"] for cell in cells), f"{path}: not every code cell ran in JupyterLab"
    errors = [o["ename"] for cell in cells for o in cell["outputs"] if o["type"] == "error"]
    assert not errors, f"{path}: cells raised {errors} in JupyterLab"
    assert any("image/png" in o["mimes"] for cell in cells for o in cell["outputs"]), f"{path}: no figure was drawn"
    shown = f"{ran['shownOutputs']} outputs, {ran['shownImages']} images"
    assert ran["shownOutputs"] > 0 and ran["shownImages"] > 0, f"{path}: no output shown on the page ({shown})"
    if any("application/vnd.jupyter.widget-view+json" in o["mimes"] for cell in cells for o in cell["outputs"]):
        assert ran["shownWidgets"] > 0, (
            f"{path}: its widgets (sliders) are not shown: is @jupyter-widgets/jupyterlab-manager missing?"
        )


@pytest.mark.parametrize("exercise", EXERCISES[:1])
def test_a_released_exercise_runs_in_jupyterlab_and_only_the_learners_cells_fail(lab, lab_page, exercise):
    path = f"{exercise}.ipynb"
    ran = run_in_lab(lab_page, path)
    lab_page.screenshot(path=lab.screenshots / f"{exercise.replace('/', '__')}.png")
    cells = ran["cells"]
    assert cells and all(cell["executed"] for cell in cells), f"{path}: not every code cell ran"
    errors = [
        (cell["nbgrader"].get("grade_id"), o["ename"])
        for cell in cells
        for o in cell["outputs"]
        if o["type"] == "error"
    ]
    unexpected = [error for error in errors if error[1] != "NotImplementedError"]
    assert not unexpected, f"{path}: cells raised something else than the learner's NotImplementedError: {unexpected}"
    assert errors, f"{path}: no cell raised NotImplementedError: are the learner's answer cells missing?"
    failing_answers = [cell["nbgrader"]["grade_id"] for cell in cells if cell["nbgrader"].get("solution") and
                       any(o["type"] == "error" for o in cell["outputs"])]  # fmt: skip
    assert not failing_answers, f"{path}: defining the learner's functions raised: {failing_answers}"
    validate = lab_page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Toolbar").get_by_text("Validate")
    assert validate.count() == 1, f"{path}: no nbgrader Validate button in the notebook's toolbar"
    validate.click()
    dialog = lab_page.wait_for_selector(".jp-Dialog", timeout=120000)
    report = dialog.inner_text()
    lab_page.screenshot(path=lab.screenshots / f"{exercise.replace('/', '__')}__validate.png")
    lab_page.keyboard.press("Escape")
    assert "Validation" in report and "failed" in report, (
        f"{path}: Validate did not report the failing tests:\n{report[:500]}"
    )


def test_the_formgrader_shows_a_submission_graded_by_make_grade(chromium, lab, lab_page):
    """The instructor's path in the browser: a submission graded by `python -m grading grade` (what `make grade`
    runs) appears in the formgrader's gradebook with the tests' full marks (its short answer waits for the grader),
    and the graded notebook opens for review."""
    assignment, notebook = Path(EXERCISES[0]).parts[1:3]
    source = ROOT / "exercises" / assignment / f"{notebook}.ipynb"
    points = sum(
        cell["metadata"].get("nbgrader", {}).get("points", 0) for cell in json.loads(source.read_text())["cells"]
    )
    tests = autograded_points(nbformat.read(source, as_version=4))  # the short answer waits for a grader
    submitted = lab.root / "submitted" / "learner01" / assignment
    submitted.mkdir(parents=True)
    submitted.joinpath(f"{notebook}.ipynb").write_text(source.read_text())  # the instructor's solution, handed in
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    graded = subprocess.run([sys.executable, "-m", "grading", "grade", assignment, "--jobs", "1", "--no-progress"],
                            cwd=lab.root, env=env, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert graded.returncode == 0, f"grading failed:\n{graded.stdout[-2000:]}\n{graded.stderr[-2000:]}"

    page = chromium.new_page()
    page.goto(f"{lab.url}/formgrader/gradebook/{assignment}/{notebook}")  # names are hidden there: one row, anonymised
    link = page.wait_for_selector("a.name-shown:has-text('learner01')", state="attached", timeout=60000)
    row = page.locator("tr", has=page.locator("a.name-shown", has_text="learner01")).inner_text()
    page.screenshot(path=lab.screenshots / "formgrader_gradebook.png")
    assert re.search(rf"\b{tests:g}\s*/\s*{points:g}\b", row), (
        f"the formgrader does not show {tests:g} / {points:g}: {row!r}"
    )
    page.goto(f"{lab.url}{link.get_attribute('href')}")
    page.wait_for_load_state("networkidle")
    text = page.inner_text("body")
    page.screenshot(path=lab.screenshots / "formgrader_submission.png", full_page=True)
    page.close()
    title = next(line.lstrip("# ") for cell in json.loads(source.read_text())["cells"] if cell["cell_type"] == "markdown"
                 for line in "".join(cell["source"]).splitlines() if line.startswith("# "))  # fmt: skip
    assert re.search(r"Submission \d+ / \d+", text) and title in text, (
        f"the formgrader did not open the graded notebook:\n{text[:500]}"
    )
