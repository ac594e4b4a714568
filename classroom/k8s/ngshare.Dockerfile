# The ngshare service's image (ngshare.yaml), built from anywhere (not built in this repository's CI):
#   docker build -f classroom/k8s/ngshare.Dockerfile -t registry.example.org/relucourse-ngshare:0.6.0 .
# The versions of the trial in README.md, where a release, fetch, submit, collect, autograde, release_feedback
# and fetch_feedback round passed with nbgrader 0.9.6 on the students' side. SQLAlchemy stays below 2: with
# SQLAlchemy 2 ngshare 0.6.0 answers "Successfully released" but stores nothing ("Object of type <Assignment>
# not in session"), so every fetch then fails with "Assignment not found".
FROM python:3.11-slim-bookworm
RUN pip install --no-cache-dir ngshare==0.6.0 jupyterhub==6.1.1 SQLAlchemy==1.4.54 alembic==1.13.3 tornado==6.6.1
USER 1000
