"""The class on a JupyterHub: accounts, the private nbgrader exchange, the hub's configuration, the LMS in and out.

`make hub` runs ``python -m classroom hub``; the hub's configuration (`classroom.hubconfig`) is written once and
read both by that hub and by the Zero to JupyterHub chart (`classroom/k8s/`).
"""
