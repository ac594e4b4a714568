"""The course's JupyterHub configuration, written once: `make hub` and the Zero to JupyterHub chart both apply it.

`configure(c, course)` sets what every deployment of the class shares: who may log in, nbgrader's two groups,
the roles that let instructors (and only them) reach the formgrader, the formgrader as a hub service, the user
servers' JupyterLab and their limits, and idle culling. `on_one_machine(c, course)` adds what a single machine
needs (PAM and Unix accounts, local processes, the proxy installed in the repository), and `make hub` then
`feedback_on_submit` (the service of classroom.autofeedback, where nbgrader_config.py switches it on); the chart's
`hub.extraConfig` calls `on_kubernetes` instead (classroom/k8s/).
"""

from __future__ import annotations

import sys
from pathlib import Path

from classroom.course import COURSE_ID, INSTRUCTORS_GROUP, STUDENTS_GROUP, Course

HERE = Path(__file__).resolve().parent
# Lab and server settings of every user server: no formgrader of their own (the course's is a service).
USER_CONFIG = HERE / "user-config"
# The formgrader service's: embeddable in its own JupyterLab (JupyterHub >= 4.1 sends frame-ancestors 'none'); both
# send CONTENT_SECURITY_POLICY.
FORMGRADER_CONFIG = HERE / "formgrader-config"
PROXY = HERE / "node_modules" / ".bin" / "configurable-http-proxy"
FORMGRADER_URL = f"/services/{COURSE_ID}/formgrader/"

MEMORY_LIMIT = "2G"  # one user server with a lesson's kernel (torch imported) stays well below: book/instructor.md
CPU_LIMIT = 1.0
IDLE_TIMEOUT_S = 3600  # a server idle for an hour is stopped; the student's files stay

# What the hub and every server it starts send as Content-Security-Policy (user-config/ and formgrader-config/ read it
# too): nothing leaves for another origin (connect, images, frames, forms), no plugins, framed by the hub's pages only.
# Scripts stay 'unsafe-inline' and 'unsafe-eval' because JupyterLab, the hub and nbgrader's pages need them; student
# output is kept inert by sanitizing it where pages are made (grading.feedback), not by this header.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline' 'unsafe-eval' https://cdnjs.cloudflare.com",  # nbconvert pages' MathJax
        "style-src 'self' 'unsafe-inline' https://cdnjs.cloudflare.com",
        "font-src 'self' data: https://cdnjs.cloudflare.com",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ]
)


def configure(c, course: Course) -> None:
    """What every deployment of the class shares."""
    c.Authenticator.allowed_users = set(course.student_ids) | set(course.instructors)
    c.JupyterHub.load_groups = {
        STUDENTS_GROUP: {"users": course.student_ids},
        INSTRUCTORS_GROUP: {"users": list(course.instructors)},
    }
    c.JupyterHub.load_roles = [
        {
            "name": INSTRUCTORS_GROUP,
            "description": "the course's graders: the formgrader service, and finding it from the Courses list",
            "groups": [INSTRUCTORS_GROUP],
            "scopes": [f"access:services!service={COURSE_ID}", "list:services", f"read:services!service={COURSE_ID}"],
        },
        # a user server's token acts with its owner's rights (nbgrader's Courses list asks the hub for services)
        {"name": "server", "scopes": ["inherit"]},
        {
            "name": "idle-culler",
            "services": ["idle-culler"],
            "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        },
    ]
    c.JupyterHub.tornado_settings = {"headers": {"Content-Security-Policy": CONTENT_SECURITY_POLICY}}
    c.Spawner.default_url = "/lab"
    c.Spawner.mem_limit = MEMORY_LIMIT
    c.Spawner.cpu_limit = CPU_LIMIT
    c.Spawner.http_timeout = 60
    c.Spawner.start_timeout = 120
    c.JupyterHub.services = [
        {
            "name": COURSE_ID,
            "display": True,
            "oauth_no_confirm": True,
            "url": f"http://127.0.0.1:{course.service_port}",
        },
        {
            "name": "idle-culler",
            "command": [sys.executable, "-m", "jupyterhub_idle_culler", f"--timeout={IDLE_TIMEOUT_S}"],
        },
    ]


def formgrader_command(course: Course) -> list[str]:
    """The formgrader service: JupyterLab in the course directory, as the course's owner."""
    return [str(course.bin / "jupyterhub-singleuser"), "--allow-root", f"--ServerApp.root_dir={course.course_dir}"]


def on_one_machine(c, course: Course) -> None:
    """One machine: Unix accounts logging in through PAM, user servers as local processes, the proxy from npm."""
    configure(c, course)
    state = Path(course.state_dir)
    c.JupyterHub.ip = course.ip
    c.JupyterHub.port = course.port
    c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{course.hub_port}"
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{course.proxy_api_port}"
    c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
    c.ConfigurableHTTPProxy.command = [str(PROXY)]
    c.ConfigurableHTTPProxy.pid_file = str(state / "jupyterhub-proxy.pid")
    c.JupyterHub.authenticator_class = "pam"  # JupyterHub's default, said for the README's one-line swap
    c.PAMAuthenticator.open_sessions = False
    c.Spawner.cmd = [str(course.bin / "jupyterhub-singleuser")]
    c.Spawner.notebook_dir = "~"
    c.Spawner.environment = {
        "PATH": f"{course.bin}:/usr/local/bin:/usr/bin:/bin",
        "JUPYTER_CONFIG_PATH": str(USER_CONFIG),
    }
    service = c.JupyterHub.services[0]
    service.update(
        command=formgrader_command(course),
        cwd=course.course_dir,
        environment={
            "JUPYTERHUB_DEFAULT_URL": "/lab",
            "JUPYTER_CONFIG_PATH": str(FORMGRADER_CONFIG),
            "PATH": f"{course.bin}:/usr/local/bin:/usr/bin:/bin",
            **({"RELUCOURSE_DB_URL": course.db_url} if course.db_url else {}),
        },
    )


def feedback_on_submit(c, course: Course) -> None:
    """The feedback-on-submit service (classroom.autofeedback), as root, if the course's nbgrader_config.py switches
    it on for some assignment; nothing otherwise."""
    from classroom.autofeedback import FeedbackOnSubmit

    if not FeedbackOnSubmit.of_course(Path(course.course_dir)).assignments:
        return
    c.JupyterHub.services.append(
        {
            "name": "feedback-on-submit",
            "command": [course.python, "-m", "classroom.autofeedback", str(Path(course.state_dir) / "course.json")],
            "cwd": course.course_dir,
            "environment": {"PATH": f"{course.bin}:/usr/local/bin:/usr/bin:/bin"},
        }
    )


def load(c, text: str) -> Course:
    """The hub's configuration file calls this with the Course that `python -m classroom hub` handed it."""
    course = Course.from_json(text)
    on_one_machine(c, course)
    feedback_on_submit(c, course)
    return course
