"""Sphinx extension for the course's book: what the browser test (tests/test_browser.py) found wrong in the HTML.

- Sphinx 7.4 writes a script that an extension adds by its body alone (no file) after the builder started
  twice into every page: once as the builder got it, once again from the registry. sphinx-thebe's
  ``const THEBE_JS_URL = ...`` then throws "Identifier 'THEBE_JS_URL' has already been declared" on every
  page. Each page keeps the first copy of each script.
- pydata-sphinx-theme logs the console error "Got invalid theme mode" on a reader's first visit unless
  the theme has a default mode: the book starts light (its figures are drawn on white).
- A Colab button opens a notebook from GitHub, but a lesson is MyST Markdown, which Colab cannot open,
  and an exercise's student copy is generated, not committed. The book publishes each page's notebook
  beside it (``_sources/<page>.ipynb``): the Colab button opens that one, from the branch the book is
  published on (``launch_buttons.colab_branch``, default ``gh-pages``).
"""

from typing import Any

from sphinx.application import Sphinx

__all__ = ["setup"]


def _start_light(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree) -> None:
    context["default_mode"] = (
        context.get("default_mode") or "light"
    )  # html_context's default_mode, as the theme reads it


def _one_copy_of_each_script(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for script in scripts:
        key = (script.filename or "", script.priority, tuple(sorted(script.attributes.items())))
        if key not in seen:
            seen.add(key)
            kept.append(script)
    scripts[:] = kept


def _colab_opens_the_published_notebook(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree
) -> None:
    options = app.config.html_theme_options
    launch = options.get("launch_buttons", {})
    repository = options.get("repository_url", "").rstrip("/")
    if not (launch.get("colab_url") and repository.startswith("https://github.com/")):
        return
    branch = launch.get("colab_branch", "gh-pages")
    published = f"{launch['colab_url'].rstrip('/')}/github/{repository.removeprefix('https://github.com/')}/blob/{branch}/_sources/{pagename}.ipynb"
    for group in context.get("header_buttons", []):
        for button in group.get("buttons", []) if group.get("label") == "launch-buttons" else []:
            if button.get("text") == "Colab":
                button["url"] = published


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("html-page-context", _start_light)
    app.connect("html-page-context", _one_copy_of_each_script, priority=900)
    app.connect("html-page-context", _colab_opens_the_published_notebook, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
