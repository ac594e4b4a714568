"""The class on Kubernetes: the Zero to JupyterHub chart (4.x) running the course's one hub configuration.

`python -m classroom.k8s values [--roster roster.csv] [--instructors "a b"] > values.rendered.yaml` renders
the chart's values: classroom/k8s/values.yaml, plus what is derived here and nowhere typed twice:

- `hub.extraFiles`: this package's hub side (classroom/__init__.py, course.py, hubconfig.py and this file),
  byte for byte, mounted under HUB_DIR in the hub pod; `hub.extraConfig` (in values.yaml) imports it from
  there and calls `from_chart(c)`, which runs `hubconfig.configure(c, course)`: the same groups, roles,
  formgrader service, limits and culling as `make hub`;
- `custom.relucourse.course`: the Course (roster, instructors) as JSON, read back by `from_chart`;
- `singleuser.memory` / `singleuser.cpu`: hubconfig's MEMORY_LIMIT and CPU_LIMIT (KubeSpawner's own settings
  take precedence over the Spawner ones configure() sets, so the chart must be given the same numbers);
- `cull.timeout`: hubconfig's IDLE_TIMEOUT_S, for the chart's idle culler (which replaces configure()'s);
- `singleuser.extraFiles.nbgrader-config`: every user pod's /etc/jupyter/nbgrader_config.py, which the
  formgrader pod mounts from the same k8s Secret (classroom/k8s/formgrader.yaml).

The exchange on Kubernetes is the ngshare service (classroom/k8s/ngshare.yaml), not the filesystem one of
classroom/exchange.py: all user pods run as the same UID (1000), so Unix permissions cannot keep one student's
submission from another; ngshare checks every request's JupyterHub token instead, and stamps submissions with
its own clock. `python -m classroom.k8s enroll --roster roster.csv` puts the class into it (and the gradebook).

Only the standard library and classroom.course/hubconfig are imported at the top: the hub pod runs this file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from classroom.course import COURSE_ID, Course, RosterError, check_user_names, read_roster
from classroom.hubconfig import CPU_LIMIT, IDLE_TIMEOUT_S, MEMORY_LIMIT, configure

ROOT = Path(__file__).resolve().parents[1]
VALUES = Path(__file__).with_name("k8s") / "values.yaml"
CHART_VERSION = "4.3.3"  # the Zero to JupyterHub chart this was written against (JupyterHub 5.4 in the hub pod)

# The hub pod: the files hub.extraFiles mounts (key in the chart's values -> file of this repository).
HUB_DIR = "/usr/local/etc/relucourse"
SHIPPED = {
    "relucourse-init": "classroom/__init__.py",
    "relucourse-course": "classroom/course.py",
    "relucourse-hubconfig": "classroom/hubconfig.py",
    "relucourse-k8s": "classroom/k8s.py",
}
# The course's image (classroom/k8s/Dockerfile): the environment of requirements.txt and the package.
IMAGE_ROOT = "/opt/relucourse"
PYTHON = f"{IMAGE_ROOT}/.venv/bin/python"
COURSE_DIR = "/srv/course"  # the formgrader pod's volume: exercises/, gradebook, submitted/, feedback/
FORMGRADER_PORT = 9999
NGSHARE_URL = "http://ngshare:8080/services/ngshare"  # the k8s Service of classroom/k8s/ngshare.yaml
NBGRADER_CONFIG = "/etc/jupyter/nbgrader_config.py"
CHART_CULLER = "jupyterhub-idle-culler"  # the service the chart adds when cull.enabled
# What the scheduler reserves for each user pod (the limits are hubconfig's): see `python -m classroom.sizing`.
MEMORY_GUARANTEE = "1G"
CPU_GUARANTEE = 0.1


def course_for(students=(), instructors=("instructor",), db_url: str = "") -> Course:
    """The Course as the pods see it: the image's environment, the formgrader's volume, ngshare as exchange."""
    return Course(
        course_dir=COURSE_DIR,
        python=PYTHON,
        exchange=NGSHARE_URL,
        instructors=tuple(instructors),
        students=tuple(students),
        service_port=FORMGRADER_PORT,
        db_url=db_url,
        state_dir="/srv/jupyterhub",
    )


def nbgrader_config() -> str:
    """/etc/jupyter/nbgrader_config.py of every user pod and of the formgrader: the course, and ngshare."""
    return f'''"""Every user pod's and the formgrader's nbgrader configuration on Kubernetes, rendered by
`python -m classroom.k8s values` (classroom/k8s.py): edit that file, not this one."""

c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "{COURSE_ID}"
# The exchange is the ngshare service (classroom/k8s/ngshare.yaml): it lets a student reach only their own
# submissions and feedback (it checks each request's JupyterHub token), and records when it received them.
import ngshare_exchange  # noqa: E402

ngshare_exchange.configureExchange(c, "{NGSHARE_URL}")
'''


def _is_culler(service: dict) -> bool:
    return "jupyterhub_idle_culler" in service.get("command", [])


def on_kubernetes(c, course: Course) -> None:
    """What the chart's hub adds to configure(): the chart's services, roles and culler, the formgrader's pod.

    Runs from hub.extraConfig, after the chart's own jupyterhub_config.py has filled c.JupyterHub.services
    (its culler and hub.services, each with the token the chart keeps in its Secret) and load_roles.
    configure() replaces both lists; this puts the chart's entries back, gives configure()'s formgrader service
    the URL of its pod and its token, and keeps one idle culler: the chart's, when cull.enabled (its timeout is
    rendered from the same IDLE_TIMEOUT_S, its role has the same scopes).
    """
    chart_services = {s["name"]: s for s in c.JupyterHub.get("services", [])}
    chart_roles = list(c.JupyterHub.get("load_roles", []))
    configure(c, course)
    services = {s["name"]: s for s in c.JupyterHub.services}
    roles = {r["name"]: r for r in c.JupyterHub.load_roles}
    if COURSE_ID not in chart_services:
        raise RuntimeError(
            f"hub.services.{COURSE_ID} is missing from the chart's values: the formgrader needs "
            "its URL and the token the chart generates (classroom/k8s/values.yaml)"
        )
    chart_formgrader = chart_services.pop(COURSE_ID)
    services[COURSE_ID].update(url=chart_formgrader["url"], api_token=chart_formgrader["api_token"])
    if CHART_CULLER in chart_services:
        for name in [n for n, s in services.items() if _is_culler(s)]:
            del services[name]
            for role in [r for r, spec in roles.items() if spec.get("services") == [name]]:
                del roles[role]
    c.JupyterHub.services = list(services.values()) + [s for n, s in chart_services.items() if n not in services]
    c.JupyterHub.load_roles = list(roles.values()) + [r for r in chart_roles if r["name"] not in roles]


def from_chart(c) -> Course:
    """hub.extraConfig calls this: the Course the render command put in custom.relucourse.course."""
    import z2jh  # the chart's helper module, beside its jupyterhub_config.py in the hub pod

    data = z2jh.get_config(f"custom.{COURSE_ID}.course")
    if not data:
        raise RuntimeError(
            f"custom.{COURSE_ID}.course is missing: render the values with "
            "`python -m classroom.k8s values` (classroom/k8s/README.md)"
        )
    course = Course.from_json(json.dumps(data))
    on_kubernetes(c, course)
    return course


def _merge(base: dict, extra: dict) -> dict:
    """Helm's merge of two values files: mappings merged key by key, anything else replaced."""
    merged = dict(base)
    for key, value in extra.items():
        merged[key] = (
            _merge(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
        )
    return merged


def render_values(course: Course, root: Path = ROOT) -> dict:
    """classroom/k8s/values.yaml with the files, the course and hubconfig's numbers filled in."""
    import yaml

    values = yaml.safe_load(VALUES.read_text())
    missing = set(SHIPPED) - set(values["hub"]["extraFiles"])
    if missing:
        raise RuntimeError(f"{VALUES}: hub.extraFiles lacks {', '.join(sorted(missing))}")
    derived = {
        "hub": {"extraFiles": {key: {"stringData": (root / path).read_text()} for key, path in SHIPPED.items()}},
        "singleuser": {
            "memory": {"limit": MEMORY_LIMIT, "guarantee": MEMORY_GUARANTEE},
            "cpu": {"limit": CPU_LIMIT, "guarantee": CPU_GUARANTEE},
            "extraFiles": {"nbgrader-config": {"mountPath": NBGRADER_CONFIG, "stringData": nbgrader_config()}},
        },
        "cull": {"enabled": True, "timeout": IDLE_TIMEOUT_S},
        "custom": {COURSE_ID: {"course": json.loads(course.to_json())}},
    }
    return _merge(values, derived)


def dump(values: dict) -> str:
    """YAML with multi-line strings (the shipped files) as literal blocks, readable in a diff."""
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def text(dumper, data):
        style = "|" if "\n" in data else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)

    Dumper.add_representer(str, text)
    return yaml.dump(values, Dumper=Dumper, sort_keys=False, width=120, allow_unicode=True)


def _course_from_args(args) -> Course:
    students = read_roster(args.roster) if args.roster else ()
    instructors = tuple(args.instructors.split())
    check_user_names(list(instructors), "--instructors")
    both = set(instructors) & {s.id for s in students}
    if both:
        raise RosterError(f"{', '.join(sorted(both))} cannot be both student and instructor")
    return course_for(students, instructors, args.db_url)


def ngshare(argv: list[str]) -> None:
    """ngshare_exchange's course tool, told ngshare's URL (it cannot read it from nbgrader_config.py:
    `'LazyConfigValue' object is not callable`, ngshare_exchange 0.5.2 with nbgrader 0.9.6)."""
    from ngshare_exchange import course_management

    course_management._ngshare_url = NGSHARE_URL
    course_management.main(argv)


def enroll(course: Course) -> None:
    """In the formgrader pod: the course in ngshare (the formgrader service as its admin and instructor, the
    instructors too), the roster's students in ngshare and in the gradebook."""
    import csv
    import tempfile
    from dataclasses import asdict

    import requests

    from classroom.gradebook import enroll as enroll_students

    listed = requests.get(
        f"{NGSHARE_URL}/courses", headers={"Authorization": f"token {os.environ['JUPYTERHUB_API_TOKEN']}"}
    ).json()
    if COURSE_ID not in listed.get("courses", []):
        ngshare(["create_course", COURSE_ID, COURSE_ID, *course.instructors])
    with tempfile.TemporaryDirectory() as tmp:
        with open(Path(tmp) / "ngshare.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["student_id", "first_name", "last_name", "email"])
            writer.writerows([s.id, s.first_name, s.last_name, s.email] for s in course.students)
        ngshare(["add_students", COURSE_ID, str(Path(tmp) / "ngshare.csv"), "--no-gb"])
    enroll_students(Path(course.course_dir), [asdict(s) for s in course.students], course.db_url)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m classroom.k8s", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_ in (
        ("values", "print the chart's values (classroom/k8s/values.yaml completed) as YAML"),
        ("enroll", "in the formgrader pod: the course and the roster into ngshare and the gradebook"),
    ):
        command = commands.add_parser(name, help=help_)
        command.add_argument("--roster", type=Path, help="nbgrader's student CSV: id,first_name,last_name,email")
        command.add_argument("--instructors", default="instructor", help="user names, separated by spaces")
        command.add_argument("--db-url", default="", help="the gradebook, e.g. postgresql://… (default: SQLite)")
    commands.add_parser(
        "ngshare", help="ngshare_exchange's course tool (ngshare-course-management), told the URL", add_help=False
    )
    args, rest = parser.parse_known_args(argv)
    if args.command == "ngshare":
        ngshare(rest)
        return 0
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        course = _course_from_args(args)
    except (RosterError, OSError) as error:
        print(f"classroom.k8s: {error}", file=sys.stderr)
        return 2
    if args.command == "values":
        sys.stdout.write(dump(render_values(course)))
    else:
        enroll(course)
    return 0


if __name__ == "__main__":
    sys.exit(main())
