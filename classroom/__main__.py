"""``python -m classroom hub``: what ``make hub`` runs: prepare the machine for the class, then start its JupyterHub."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from classroom.autofeedback import FeedbackConfigError, FeedbackOnSubmit
from classroom.course import Course, RosterError, check_user_names, read_roster
from classroom.hubconfig import FORMGRADER_URL, PROXY
from classroom.provision import provision


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m classroom", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    hub = commands.add_parser("hub", help="accounts, exchange, nbgrader configuration, then JupyterHub (as root)")
    hub.add_argument("--course-dir", type=Path, default=Path.cwd())
    hub.add_argument("--roster", type=Path, help="nbgrader's student CSV: id,first_name,last_name,email")
    hub.add_argument("--instructors", default="instructor", help="user names, separated by spaces")
    hub.add_argument("--exchange", default="/srv/nbgrader/exchange")
    hub.add_argument("--ip", default="127.0.0.1")
    hub.add_argument("--port", type=int, default=8000)
    hub.add_argument("--service-port", type=int, default=9999, help="the formgrader service, on loopback")
    hub.add_argument("--hub-port", type=int, default=8081, help="the hub behind the proxy, on loopback")
    hub.add_argument("--proxy-api-port", type=int, default=8001, help="the proxy's API, on loopback")
    hub.add_argument("--state-dir", default=Course.state_dir, help="the hub's database and secrets")
    hub.add_argument(
        "--db-url",
        default=os.environ.get("RELUCOURSE_DB_URL", ""),
        help="the gradebook, e.g. postgresql://… (default: the course's nbgrader_config.py)",
    )
    args = parser.parse_args(argv)

    if os.geteuid() != 0:
        print("make hub: run it as root (it creates accounts and starts servers as them)", file=sys.stderr)
        return 2
    if not PROXY.exists():
        print(f"make hub: {PROXY} is missing: run `make hub`, which installs it with npm", file=sys.stderr)
        return 2
    try:
        students = read_roster(args.roster) if args.roster else ()
        instructors = tuple(args.instructors.split())
        check_user_names(list(instructors), "INSTRUCTORS")
    except (RosterError, OSError) as error:
        print(f"make hub: {error}", file=sys.stderr)
        return 2
    try:
        on_submit = FeedbackOnSubmit.of_course(args.course_dir)
    except FeedbackConfigError as error:
        print(f"make hub: {error}", file=sys.stderr)
        return 2
    both = set(instructors) & {s.id for s in students}
    if both:
        print(f"make hub: {', '.join(sorted(both))} cannot be both student and instructor", file=sys.stderr)
        return 2
    course = Course(
        course_dir=str(args.course_dir.resolve()),
        python=str(Path(sys.executable)),
        exchange=args.exchange,
        instructors=instructors,
        students=students,
        ip=args.ip,
        port=args.port,
        service_port=args.service_port,
        hub_port=args.hub_port,
        proxy_api_port=args.proxy_api_port,
        db_url=args.db_url,
        state_dir=str(Path(args.state_dir).resolve()),
    )
    for line in provision(course):
        print(f"make hub: {line}", flush=True)
    state = Path(course.state_dir)
    (state / "course.json").write_text(course.to_json())
    config = Path(__file__).with_name("jupyterhub_config.py")
    print(
        f"make hub: JupyterHub on http://{course.ip}:{course.port}/ ; formgrader for "
        f"{', '.join(instructors)} at {FORMGRADER_URL} ; "
        + (f"feedback on submit for {', '.join(on_submit.assignments)} ; " if on_submit.assignments else "")
        + "Ctrl-C stops it",
        flush=True,
    )
    os.chdir(state)
    env = {
        **os.environ,
        "RELUCOURSE_HUB_COURSE": str(state / "course.json"),
        "PATH": f"{course.bin}:{os.environ.get('PATH', '/usr/bin:/bin')}",
    }
    os.execve(str(course.bin / "jupyterhub"), [str(course.bin / "jupyterhub"), "-f", str(config)], env)


if __name__ == "__main__":
    sys.exit(main())
