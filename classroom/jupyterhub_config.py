"""The hub's configuration file (`jupyterhub -f`): the class that `python -m classroom hub` wrote to course.json."""

import os
from pathlib import Path

from classroom.hubconfig import load

load(get_config(), Path(os.environ["RELUCOURSE_HUB_COURSE"]).read_text())  # noqa: F821
