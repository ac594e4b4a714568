"""nbgrader configuration of the course; `nbgrader` reads it from the directory it runs in.

exercises/<assignment>/<notebook>.ipynb are the source notebooks (solutions and hidden tests).
nbgrader writes release/, submitted/, autograded/, feedback/ and gradebook.db beside them;
none of these is committed. Grading goes through the course's `grading` package (beside this file):
`make grade` runs it in parallel; a plain `nbgrader autograde` uses the same steps, serially.
The gradebook is SQLite (gradebook.db) unless c.CourseDirectory.db_url names another database,
e.g. "postgresql://user@host/relucourse" for a shared deployment.
"""

import importlib.util
import os
import sys

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearOutput,
    DeduplicateIds,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    OverwriteCells,
    OverwriteKernelspec,
)

# The `grading` package lives beside this file, in the course repository (whose `relucourse` package is
# installed in the environment, so a copy of this file elsewhere still finds it).
_course = importlib.util.find_spec("relucourse")
for _root in (
    os.path.dirname(os.path.abspath(__file__)),
    os.path.dirname(os.path.dirname(_course.origin)) if _course and _course.origin else "",
):
    if os.path.isdir(os.path.join(_root, "grading")):
        sys.path.insert(0, _root)
        break
try:
    from grading.execute import GuardedExecute
    from grading.feedback import HideHiddenTests, HideMarkScheme, InertMarkdown, InertOutput
    from grading.repair import RepairCells
    from grading.scoring import SaveGrades
except ImportError as _error:  # nbgrader would carry on without this file: stop instead of grading unguarded
    raise SystemExit(f"nbgrader_config.py: cannot import the course's grading package ({_error})") from None

c = get_config()  # noqa: F821  (traitlets provides get_config when nbgrader loads this file)

c.CourseDirectory.course_id = "relucourse"
c.CourseDirectory.source_directory = "exercises"
# A gradebook that several graders share (the hub's formgrader service and `make grade` at once): PostgreSQL,
# named here (c.CourseDirectory.db_url = "postgresql://…") or in RELUCOURSE_DB_URL, which `make hub DB_URL=…` passes on.
if os.environ.get("RELUCOURSE_DB_URL"):
    c.CourseDirectory.db_url = os.environ["RELUCOURSE_DB_URL"]

# Autograding runs each notebook in a fresh, sandboxed kernel (grading.kernelmanager: bubblewrap, no
# network, only its own files; memory, file, process and time caps), forked warm from a server that imported
# numpy and torch once (grading.forkserver), so a plain `nbgrader autograde` is faster too. A notebook takes a few seconds; a cell still
# running after a minute is a learner's endless loop: it is interrupted and recorded as an error in
# that cell, and a kernel that ignores the interrupt or dies is replaced (grading.execute).
c.Execute.timeout = 60

# Before nbgrader's own checks: nbgrader metadata set back to the gradebook's, lost graded cells put back.
c.Autograde.sanitize_preprocessors = [
    RepairCells,
    ClearOutput,
    DeduplicateIds,
    OverwriteKernelspec,
    OverwriteCells,
    CheckCellMetadata,
]
c.OverwriteCells.add_missing_cells = True
# Execution in the guarded kernel; scoring where stderr output is not a failure.
c.Autograde.autograde_preprocessors = [
    GuardedExecute,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]

# Feedback is rendered from the autograded notebook, into which autograde put the hidden tests back;
# stock nbgrader shows them to the learner (jupyter/nbgrader#917). grading.feedback removes them, and
# keeps each failing test's message: it says in words what went wrong.
c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, HideMarkScheme, CSSHTMLHeaderPreprocessor]

# Each assignment ends with a short answer graded by hand in the formgrader: a locked cell asks the question and holds
# the graders' rubric in a mark-scheme region (nbgrader's ClearMarkScheme delimiters), the answer cell
# below it ("Manually graded answer") the model answer in a solution region. generate_assignment strips both from the
# release; the gradebook keeps the locked cell as written, so autograde puts the rubric back into the graded notebook,
# where the formgrader shows it beside the student's answer (feedback drops it again: grading.feedback.HideMarkScheme).
# nbgrader shows a mark scheme to graders only when it lies in a locked cell (jupyter/nbgrader#1310, #1499); its check
# that the cell be a "Manually graded task", which would add the rubric's own points, is off.
c.ClearMarkScheme.enforce_metadata = False
# What a submission displays is shown inert on every HTML page nbgrader makes of it (the feedback, the formgrader's
# view, which the instructor's own server serves): outputs and markdown through nbconvert's sanitizer (grading.feedback).
c.HTMLExporter.preprocessors = [InertOutput]
c.HTMLExporter.filters = {"markdown2html": InertMarkdown}

# The learner's Validate in `make lab` (whose server starts here) judges as grading does: output on stderr fails
# no test. Only the kernel that Validate starts sends sys.stderr to stdout (classroom/user-config/nbgrader_config.py
# does the same on the hub).
c.Validator.Execute.extra_arguments = [
    "--HistoryManager.hist_file=:memory:",
    "--InteractiveShellApp.exec_lines=import sys; sys.stderr = sys.stdout",
]

# Submissions downloaded from Canvas or Moodle (`nbgrader zip_collect <assignment>`, or `python -m classroom.lms
# collect`): zips extracted without escaping the folder, links or their modes, each bad entry skipped with its reason;
# the LMS's file names matched to the gradebook's students (classroom/lms.py).
c.ZipCollectApp.extractor_plugin = "classroom.lms.SafeExtractor"
c.ZipCollectApp.collector_plugin = "classroom.lms.LmsCollector"
