"""Pages made from a submission: feedback without the hidden tests or the graders' rubrics, and student output inert.

Feedback is rendered from the autograded notebook, into which autograde put the hidden tests back;
stock nbgrader shows them to the learner (jupyter/nbgrader#917, #1363). :class:`HideHiddenTests`
drops the hidden regions from the cells' code, keeps only ``Error: message`` of a failing test cell
(a traceback quotes the cell's code, hidden part included; the message says in words what is wrong),
and blanks any line of hidden-test code that learner code managed to print into an output. The rubric of a
hand-graded short answer sits in a mark-scheme region of the locked cell that asks the question; autograde puts
it back with that cell, so the formgrader shows it to the grader, and :class:`HideMarkScheme` drops it from
the feedback.

What a submission displays is the student's HTML, and nbconvert writes it into the page as it is: in the
feedback, and in the formgrader's view, served from the instructor's own Jupyter server, where a script
would act with the instructor's session. :class:`InertOutput` (nbconvert's own sanitizer, bleach, with what
course pages legitimately show) cleans every output and drops every mimetype that could run (JavaScript,
widgets); :class:`InertMarkdown` cleans markdown after it is rendered, so that its math and code reach the
renderer unescaped. nbgrader_config.py sets both on every HTMLExporter: nbgrader's feedback and its formgrader.
"""

from __future__ import annotations

import re

import bleach
import jinja2
from nbconvert.preprocessors.sanitize import SanitizeHTML
from nbgrader.preprocessors import ClearHiddenTests, ClearMarkScheme
from traitlets import Bool, List
from traitlets.config import LoggingConfigurable

__all__ = ["HideHiddenTests", "HideMarkScheme", "InertMarkdown", "InertOutput", "hidden_lines", "inert_html"]

REDACTED = "[hidden test code removed]"
MIN_LINE = 12  # shorter lines (``for x in xs:``) are not specific enough to redact
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # IPython colours tracebacks: code quoted there is split by escapes


def hidden_lines(nb, begin: str, end: str) -> set[str]:
    """Stripped lines of code that occur only inside hidden-test regions of `nb`."""
    hidden, visible = set(), set()
    for cell in nb.cells:
        inside = False
        for line in cell.source.split("\n"):
            if begin in line:
                inside = True
            elif end in line:
                inside = False
            else:
                (hidden if inside else visible).add(line.strip())
    return {line for line in hidden - visible if len(line) >= MIN_LINE}


class HideHiddenTests(ClearHiddenTests):
    """Drop hidden tests from code, tracebacks and outputs; keep each failing test's message."""

    display_data_priority = List().tag(config=True)  # the HTML exporter sets it on every preprocessor

    def preprocess(self, nb, resources):
        self._hidden = hidden_lines(nb, self.begin_test_delimeter, self.end_test_delimeter)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        cell, resources = super().preprocess_cell(cell, resources, index)
        graded = cell.metadata.get("nbgrader", {}).get("grade")
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                if graded:
                    output.traceback = [f"{output.ename}: {output.evalue}"]
                output.evalue = self._redact(output.evalue)
                output.traceback = [self._redact(line) for line in output.traceback]
            elif output.output_type == "stream":
                output.text = self._redact(output.text)
            else:
                for mime, value in list(output.get("data", {}).items()):
                    if isinstance(value, str):
                        output.data[mime] = self._redact(value)
        return cell, resources

    def _redact(self, text: str) -> str:
        if not self._hidden or not isinstance(text, str):
            return text
        return "\n".join(
            REDACTED if any(h in ANSI.sub("", line) for h in self._hidden) else line for line in text.split("\n")
        )


class HideMarkScheme(ClearMarkScheme):
    """Drop the graders' rubric (the region inside ClearMarkScheme's delimiters) from the feedback.

    The course keeps a rubric in the locked cell that asks a short-answer question, not in a task cell, so the
    check that a mark scheme sits in a task cell is off here as in ``generate_assignment`` (``nbgrader_config.py``).
    """

    enforce_metadata = Bool(False).tag(config=True)
    display_data_priority = List().tag(config=True)  # the HTML exporter sets it on every preprocessor


# What text, tables, images and rendered markdown need; no script, style, form, frame or object, no event handler.
TAGS = {
    *bleach.ALLOWED_TAGS,
    "p",
    "div",
    "span",
    "pre",
    "br",
    "hr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "img",
    "table",
    "thead",
    "tbody",
    "tfoot",
    "tr",
    "th",
    "td",
    "caption",
    "sub",
    "sup",
    "dl",
    "dt",
    "dd",
    "del",
    "s",
    "u",
    "small",
}
ATTRIBUTES = {
    "*": {"class", "title"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "th": {"colspan", "rowspan"},
    "td": {"colspan", "rowspan"},
    "ol": {"start"},
    **{f"h{level}": {"id"} for level in range(1, 7)},
}  # the headings' anchors
DATA_IMAGE = re.compile(r"data:image/(png|jpeg|gif);base64,", re.IGNORECASE)  # inline images; not svg, not text/html


def _allowed(tag: str, name: str, value: str) -> bool:
    if value.strip().lower().startswith("data:"):  # bleach checks the scheme of href and src: data: only for images
        return tag == "img" and name == "src" and bool(DATA_IMAGE.match(value.strip()))
    return name in ATTRIBUTES["*"] or name in ATTRIBUTES.get(tag, ())


_CLEANER = bleach.Cleaner(tags=TAGS, attributes=_allowed, protocols={*bleach.ALLOWED_PROTOCOLS, "data"})


def inert_html(html: str) -> str:
    """`html` with every tag, attribute and URL scheme outside the allow-list escaped: it shows, and runs nothing."""
    return _CLEANER.clean(html)


class InertOutput(SanitizeHTML):
    """nbconvert's sanitizer with the course's allow-list: HTML outputs cleaned, mimetypes that could run dropped.

    SVG stays: the templates embed it as an <img>, where its scripts do not run. Markdown (cells and outputs) is
    left to :class:`InertMarkdown`: cleaned as HTML before rendering, its math and code would show entities.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.safe_output_keys = {*self.safe_output_keys, "image/svg+xml", "text/markdown"}
        self.sanitized_output_types = {"text/html"}

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "markdown":
            return cell, resources
        return super().preprocess_cell(cell, resources, index)

    def sanitize_html_tags(self, html_str):
        return inert_html(html_str)


class InertMarkdown(LoggingConfigurable):
    """The exporter's own markdown2html, then :func:`inert_html`: a Jinja filter (nbconvert makes it with parent=exporter)."""

    jinja_pass_arg = jinja2.pass_context(lambda: None).jinja_pass_arg  # Jinja hands the template's context to __call__

    def __call__(self, context, source):
        return inert_html(self.parent.markdown2html(context, source))
