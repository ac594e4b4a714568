"""nbgrader settings of a learner's server (JUPYTER_CONFIG_PATH on the hub).

Validate judges a test cell as the grader does: an error fails it, output on stderr does not. Stock nbgrader
fails any graded cell that wrote to stderr (nbgrader.utils.determine_grade), so a correct answer that emits a
warning or a progress bar would be reported as failing. The kernel Validate starts (and only that one: the
Execute whose parent is the Validator) sends what Python writes to sys.stderr to stdout instead.
"""

c = get_config()  # noqa: F821  (traitlets provides get_config when nbgrader loads this file)
c.Validator.Execute.extra_arguments = [
    "--HistoryManager.hist_file=:memory:",  # nbgrader's default for Python kernels
    "--InteractiveShellApp.exec_lines=import sys; sys.stderr = sys.stdout",
]
