"""nbgrader configuration of the course; `nbgrader` reads it from the directory it runs in.

exercises/<assignment>/<notebook>.ipynb are the source notebooks (solutions and hidden tests).
nbgrader writes release/, submitted/, autograded/, feedback/ and gradebook.db beside them;
none of these is committed.
"""

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import ClearHiddenTests, GetGrades
from traitlets import List

c = get_config()  # noqa: F821  (traitlets provides get_config when nbgrader loads this file)

c.CourseDirectory.course_id = "relucourse"
c.CourseDirectory.source_directory = "exercises"

# Autograding runs each notebook in a fresh kernel. A notebook takes a few seconds; a cell still
# running after a minute is a learner's endless loop: it is interrupted and recorded as an error in
# that cell (nbgrader's default, interrupt_on_timeout=True) instead of hanging the whole class.
c.Execute.timeout = 60


class HideHiddenTests(ClearHiddenTests):
    """Feedback: drop the hidden-test regions, and keep only "Error: message" of a failing test cell."""

    display_data_priority = List().tag(config=True)  # the HTML exporter sets it on every preprocessor

    def preprocess_cell(self, cell, resources, index):
        cell, resources = super().preprocess_cell(cell, resources, index)
        if cell.metadata.get("nbgrader", {}).get("grade"):
            for output in cell.get("outputs", []):
                if output.output_type == "error":  # a traceback quotes the cell's code, hidden part included
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources


# Feedback is rendered from the autograded notebook, into which autograde put the hidden tests back;
# stock nbgrader shows them to the learner (jupyter/nbgrader#917). The test's message stays: it says
# in words what went wrong.
c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, CSSHTMLHeaderPreprocessor]
