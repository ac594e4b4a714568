"""Feedback that says which tests failed and why, without the hidden tests.

Feedback is rendered from the autograded notebook, into which autograde put the hidden tests back;
stock nbgrader shows them to the learner (jupyter/nbgrader#917, #1363). :class:`HideHiddenTests`
drops the hidden regions from the cells' code, keeps only ``Error: message`` of a failing test cell
(a traceback quotes the cell's code, hidden part included; the message says in words what is wrong),
and blanks any line of hidden-test code that learner code managed to print into an output.
"""

from __future__ import annotations

import re

from nbgrader.preprocessors import ClearHiddenTests
from traitlets import List

__all__ = ["HideHiddenTests", "hidden_lines"]

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
        return "\n".join(REDACTED if any(h in ANSI.sub("", line) for h in self._hidden) else line
                         for line in text.split("\n"))
