"""The class reports (``make report``) served by the formgrader service, to instructors only.

A Jupyter server extension, enabled in ``classroom/formgrader-config/``: the service's JupyterLab (which only
the graders' hub role may reach) answers ``<base>/relucourse/reports/`` with a list of the reports in the
course directory's ``.grading/``, ``.../reports/.grading/<assignment>/class.html`` with each one, and
``.../reports/_build/html/...`` with the built book, so a report's links to the lessons resolve as they do on
disk. Nothing else of the course directory is served here. A report is sent with a Content-Security-Policy
that allows no script at all: it shows what students wrote.
"""

from __future__ import annotations

import html
import mimetypes
import re
from pathlib import Path

from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from tornado import web

__all__ = ["ReportsHandler", "REPORT_POLICY"]

PREFIX = "relucourse/reports"
REPORT_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"
_REPORT = re.compile(r"\.grading/(?:[A-Za-z0-9_-]+/)?class\.html")


class ReportsHandler(JupyterHandler):
    """GET a report, a page of the built book, or (empty path) the list of reports."""

    @web.authenticated
    def get(self, path: str) -> None:
        root = Path(self.settings["server_root_dir"]).expanduser().resolve()
        if not path:
            return self._index(root)
        target = (root / path).resolve()
        book = root / "_build" / "html"
        if _REPORT.fullmatch(path) and target.is_file():
            self.set_header("Content-Security-Policy", REPORT_POLICY)
        elif not (target.is_relative_to(book) and target.is_file()):
            raise web.HTTPError(404)
        self.set_header("Content-Type", mimetypes.guess_type(target.name)[0] or "application/octet-stream")
        self.finish(target.read_bytes())

    def _index(self, root: Path) -> None:
        reports = sorted(
            p.relative_to(root).as_posix()
            for p in (root / ".grading").glob("**/class.html")
            if _REPORT.fullmatch(p.relative_to(root).as_posix())
        )
        items = (
            "".join(
                f'<li><a href="{html.escape(r)}">{html.escape(r.split("/")[-2] if r.count("/") > 1 else "the class across the assignments")}</a></li>'
                for r in reports
            )
            or "<li>none yet: run <code>make grade</code>, then <code>make report</code></li>"
        )
        self.set_header("Content-Security-Policy", REPORT_POLICY)
        self.finish(
            f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Class reports</title></head>'
            f"<body><h1>Class reports</h1><ul>{items}</ul></body></html>"
        )


def _jupyter_server_extension_points() -> list[dict]:
    return [{"module": "classroom.reports"}]


def _load_jupyter_server_extension(serverapp) -> None:
    base = serverapp.web_app.settings["base_url"]
    serverapp.web_app.add_handlers(".*$", [(url_path_join(base, PREFIX, "(.*)"), ReportsHandler)])
