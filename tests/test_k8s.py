"""The class on Zero to JupyterHub (classroom/k8s.py, classroom/k8s/): the rendered values, checked without helm.

There is no helm binary and no copy of the chart here. The values are rendered by the command an instructor runs
(`python -m classroom.k8s values`) and checked: against the names of the chart 4.x's values schema for the parts
they set (`CHART_KEYS`, written down from jupyterhub/values.schema.yaml); by running their hub.extraConfig as the
chart's hub does, after `chart_hub`, which re-states the part of the chart's jupyterhub_config.py that runs before
it (the services, roles, culler and KubeSpawner settings that configure() meets), with a stand-in for the chart's
z2jh module; and against the manifests of the formgrader and of ngshare, the exchange.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import types
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml
from traitlets.config import Config

from classroom import k8s
from classroom.course import COURSE_ID, Course
from classroom.hubconfig import (
    CPU_LIMIT,
    FORMGRADER_CONFIG,
    IDLE_TIMEOUT_S,
    MEMORY_LIMIT,
    USER_CONFIG,
    configure,
    formgrader_command,
    on_one_machine,
)

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "classroom" / "k8s"
STUDENTS = ("alice", "bob", "carol")
INSTRUCTORS = ("prof", "ta")
SECRET = {f"hub.services.{name}.apiToken": f"token-of-{name}" for name in (COURSE_ID, "ngshare")}

# The chart's values schema (4.x) for the parts the course sets: a dict is an object that takes only these keys
# (additionalProperties: false), "*" the schema of every entry of an open-ended mapping, OPEN an object that
# takes anything (additionalProperties: true), a tuple the types a leaf may have.
OPEN = "open"
NUMBER, TEXT, NULL = (int, float), (str,), (type(None),)
FILE = {"mountPath": TEXT, "data": OPEN, "stringData": TEXT, "binaryData": TEXT, "mode": NUMBER}
POLICY = {
    "enabled": (bool,),
    "ingress": (list,),
    "egress": (list,),
    "egressAllowRules": OPEN,
    "interNamespaceAccessLabels": TEXT,
    "allowedIngressPorts": (list,),
}
CHART_KEYS = {
    "hub": {
        "config": OPEN,
        "extraFiles": {"*": FILE},
        "extraConfig": {"*": TEXT},
        "services": {"*": OPEN},
        "loadRoles": OPEN,
        "extraEnv": OPEN,
        "networkPolicy": POLICY,
        "db": OPEN,
        "image": OPEN,
        "resources": OPEN,
        "concurrentSpawnLimit": NUMBER + NULL,
        "activeServerLimit": NUMBER + NULL,
    },
    "singleuser": {
        "image": {"name": TEXT, "tag": TEXT, "pullPolicy": TEXT + NULL, "pullSecrets": (list,)},
        "startTimeout": (int,) + NULL,
        "cmd": TEXT + (list,) + NULL,
        "defaultUrl": TEXT + NULL,
        "uid": (int,) + NULL,
        "fsGid": (int,) + NULL,
        "extraEnv": OPEN,
        "extraFiles": {"*": FILE},
        "networkPolicy": POLICY,
        "memory": {"limit": NUMBER + TEXT + NULL, "guarantee": NUMBER + TEXT + NULL},
        "cpu": {"limit": NUMBER + NULL, "guarantee": NUMBER + NULL},
        "storage": {
            "type": TEXT,
            "capacity": TEXT + NULL,
            "homeMountPath": TEXT,
            "extraVolumes": (list,),
            "extraVolumeMounts": (list,),
            "extraLabels": OPEN,
            "dynamic": OPEN,
            "static": OPEN,
        },
    },
    "cull": {
        "enabled": (bool,),
        "users": (bool,) + NULL,
        "adminUsers": (bool,) + NULL,
        "removeNamedServers": (bool,) + NULL,
        "timeout": (int,) + NULL,
        "every": (int,) + NULL,
        "concurrency": (int,) + NULL,
        "maxAge": (int,) + NULL,
    },
    "scheduling": {
        "userScheduler": {
            "enabled": (bool,),
            "replicas": (int,),
            "logLevel": (int,),
            "plugins": OPEN,
            "pluginConfig": (list,),
            "resources": OPEN,
        },
        "podPriority": {
            "enabled": (bool,),
            "globalDefault": (bool,),
            "defaultPriority": (int,),
            "imagePullerPriority": (int,),
            "userPlaceholderPriority": (int,),
        },
        "userPlaceholder": {"enabled": (bool,), "replicas": (int,), "resources": OPEN},
        "corePods": OPEN,
        "userPods": OPEN,
    },
    "custom": OPEN,
    "prePuller": OPEN,
    "proxy": OPEN,
    "ingress": OPEN,
    "debug": OPEN,
}
# The chart's own defaults (its values.yaml, 4.x) that meet the course's: helm merges the course's values over them.
CHART_DEFAULTS = {
    "hub": {"config": {"JupyterHub": {"admin_access": True, "authenticator_class": "dummy"}}},
    "singleuser": {
        "startTimeout": 300,
        "cmd": "jupyterhub-singleuser",
        "uid": 1000,
        "fsGid": 100,
        "memory": {"limit": None, "guarantee": "1G"},
        "cpu": {"limit": None, "guarantee": None},
    },
    "cull": {
        "enabled": True,
        "users": False,
        "adminUsers": True,
        "removeNamedServers": False,
        "timeout": 3600,
        "every": 600,
        "concurrency": 10,
        "maxAge": 0,
    },
}


def helm_merge(base: dict, over: dict) -> dict:
    """helm's merge of a values file over the chart's defaults: mappings key by key, a null removes the key."""
    merged = dict(base)
    for key, value in over.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = helm_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def lookup(values: dict, key: str, default=None):
    """z2jh.get_config: a dotted path into the values."""
    for level in key.split("."):
        if not isinstance(values, dict) or level not in values:
            return default
        values = values[level]
    return values


def chart_hub(c, values: dict) -> None:
    """What the chart's jupyterhub_config.py (4.x) sets before it runs hub.extraConfig, where configure() meets it."""
    get = lambda key, default=None: lookup(values, key, default)  # noqa: E731
    c.JupyterHub.services = []
    c.JupyterHub.load_roles = []
    for trait, key in (
        ("start_timeout", "startTimeout"),
        ("uid", "uid"),
        ("fs_gid", "fsGid"),
        ("mem_limit", "memory.limit"),
        ("mem_guarantee", "memory.guarantee"),
        ("cpu_limit", "cpu.limit"),
        ("cpu_guarantee", "cpu.guarantee"),
        ("environment", "extraEnv"),
    ):
        if get(f"singleuser.{key}") is not None:
            setattr(c.KubeSpawner, trait, get(f"singleuser.{key}"))
    if get("cull.enabled"):
        command = ["python3", "-m", "jupyterhub_idle_culler", "--url=http://localhost:8081/hub/api"]
        for flag, key in (
            ("--timeout", "timeout"),
            ("--cull-every", "every"),
            ("--concurrency", "concurrency"),
            ("--max-age", "maxAge"),
        ):
            if get(f"cull.{key}"):
                command.append(f"{flag}={get(f'cull.{key}')}")
        c.JupyterHub.services.append({"name": "jupyterhub-idle-culler", "command": command})
        c.JupyterHub.load_roles.append(
            {
                "name": "jupyterhub-idle-culler",
                "services": ["jupyterhub-idle-culler"],
                "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
            }
        )
    for key, service in get("hub.services", {}).items():
        service = {"name": key, **service}
        service.pop("apiToken", None)
        service["api_token"] = SECRET[f"hub.services.{key}.apiToken"]
        c.JupyterHub.services.append(service)
    for key, role in get("hub.loadRoles", {}).items():
        c.JupyterHub.load_roles.append({"name": key, **role})
    for trait, key in (("cmd", "singleuser.cmd"), ("default_url", "singleuser.defaultUrl")):
        if get(key) is not None:
            setattr(c.Spawner, trait, get(key))
    for app, settings in get("hub.config", {}).items():
        c[app].update(settings)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict:
    roster = tmp_path_factory.mktemp("roster") / "roster.csv"
    roster.write_text(
        "id,first_name,last_name,email\n" + "".join(f"{s},{s.title()},X,{s}@example.org\n" for s in STUDENTS)
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "classroom.k8s",
            "values",
            "--roster",
            str(roster),
            "--instructors",
            " ".join(INSTRUCTORS),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)


@pytest.fixture(scope="module")
def deployed(rendered) -> dict:
    """The values the chart's hub reads: the rendered ones merged over the chart's defaults."""
    return helm_merge(CHART_DEFAULTS, rendered)


def manifests(name: str) -> dict[tuple[str, str], dict]:
    return {(doc["kind"], doc["metadata"]["name"]): doc for doc in yaml.safe_load_all((K8S / name).read_text())}


def container(workload: dict, name: str) -> dict:
    return next(c for c in workload["spec"]["template"]["spec"]["containers"] if c["name"] == name)


def env_of(spec: dict) -> dict:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in spec["env"]}


def check_keys(values, schema, path: str) -> list[str]:
    """Where `values` leaves the chart's schema: unknown keys of closed objects, leaves of another type."""
    if schema == OPEN:
        return [] if isinstance(values, dict) else [f"{path}: an object, not {values!r}"]
    if isinstance(schema, tuple):
        ok = isinstance(values, schema) and not (isinstance(values, bool) and bool not in schema)
        return [] if ok else [f"{path}: {values!r} is not {'/'.join(t.__name__ for t in schema)}"]
    if not isinstance(values, dict):
        return [f"{path}: an object, not {values!r}"]
    problems = []
    for key, value in values.items():
        sub = schema.get("*", schema.get(key))
        problems += (
            [f"{path}.{key}: the chart has no such key"] if sub is None else check_keys(value, sub, f"{path}.{key}")
        )
    return problems


def test_the_rendered_values_are_yaml_with_the_chart_s_keys(rendered):
    assert check_keys(rendered, CHART_KEYS, "values") == []
    for group in (rendered["hub"]["extraFiles"], rendered["singleuser"]["extraFiles"]):
        for key, spec in group.items():
            assert re.fullmatch(r"[-._a-zA-Z0-9]+", key), f"{key}: not a k8s Secret key"
            assert spec["mountPath"].startswith("/")
            assert sum(k in spec for k in ("data", "stringData", "binaryData")) == 1, key  # the schema's oneOf


def test_check_keys_finds_what_the_chart_would_refuse():
    assert check_keys({"singleuser": {"memory": {"limt": "2G"}}}, CHART_KEYS, "v") == [
        "v.singleuser.memory.limt: the chart has no such key"
    ]
    assert check_keys({"cull": {"timeout": "1h"}}, CHART_KEYS, "v") == ["v.cull.timeout: '1h' is not int/NoneType"]
    assert check_keys({"singleuser": {"cpu": {"limit": True}}}, CHART_KEYS, "v") != []


def test_the_hub_is_given_this_repository_s_files_byte_for_byte(rendered):
    files = rendered["hub"]["extraFiles"]
    assert set(files) == set(k8s.SHIPPED)
    for key, path in k8s.SHIPPED.items():
        assert files[key]["stringData"] == (ROOT / path).read_text(), path
        assert files[key]["mountPath"] == f"{k8s.HUB_DIR}/{path}"
    assert files["relucourse-hubconfig"]["stringData"] == (ROOT / "classroom" / "hubconfig.py").read_text()
    (snippet,) = rendered["hub"]["extraConfig"].values()
    assert f'sys.path.insert(0, "{k8s.HUB_DIR}")' in snippet


def test_limits_and_culling_are_hubconfig_s_numbers(rendered):
    assert rendered["singleuser"]["memory"] == {"limit": MEMORY_LIMIT, "guarantee": k8s.MEMORY_GUARANTEE}
    assert rendered["singleuser"]["cpu"] == {"limit": CPU_LIMIT, "guarantee": k8s.CPU_GUARANTEE}
    assert rendered["cull"]["enabled"] is True and rendered["cull"]["timeout"] == IDLE_TIMEOUT_S
    course = rendered["custom"][COURSE_ID]["course"]
    assert [s["id"] for s in course["students"]] == list(STUDENTS) and course["instructors"] == list(INSTRUCTORS)


def run_extra_config(values: dict, root: Path, monkeypatch) -> tuple[Config, dict]:
    """The chart's hub: its part before hub.extraConfig, then hub.extraConfig, with the files of hub.extraFiles
    under `root` instead of /; returns the config and the modules the snippet imported."""
    for spec in values["hub"]["extraFiles"].values():
        target = root / spec["mountPath"].lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(spec["stringData"])
    z2jh = types.ModuleType("z2jh")
    z2jh.get_config = lambda key, default=None: lookup(values, key, default)
    z2jh.get_secret_value = SECRET.__getitem__
    monkeypatch.setitem(sys.modules, "z2jh", z2jh)
    c = Config()
    chart_hub(c, values)
    ours = {name: sys.modules.pop(name) for name in list(sys.modules) if name.split(".")[0] == "classroom"}
    path = list(sys.path)
    try:
        for key, snippet in sorted(values["hub"]["extraConfig"].items()):
            exec(snippet.replace(k8s.HUB_DIR, str(root / k8s.HUB_DIR.lstrip("/"))), {"c": c})
        imported = {name: module for name, module in sys.modules.items() if name.split(".")[0] == "classroom"}
    finally:
        for name in [n for n in sys.modules if n.split(".")[0] == "classroom"]:
            del sys.modules[name]
        sys.modules.update(ours)
        sys.path[:] = path
    return c, imported


def culler(services) -> list[dict]:
    return [s for s in services if "jupyterhub_idle_culler" in s.get("command", [])]


def test_the_chart_s_hub_configures_what_configure_does(deployed, tmp_path, monkeypatch):
    hub, imported = run_extra_config(deployed, tmp_path, monkeypatch)
    for name in ("classroom.hubconfig", "classroom.course", "classroom.k8s"):  # the shipped files, not ours
        assert Path(imported[name].__file__).is_relative_to(tmp_path), name
    alone = Config()
    configure(alone, Course.from_json(json.dumps(deployed["custom"][COURSE_ID]["course"])))

    assert hub.JupyterHub.load_groups == alone.JupyterHub.load_groups
    assert set(hub.JupyterHub.load_groups[f"nbgrader-{COURSE_ID}"]["users"]) == set(STUDENTS)
    assert hub.Authenticator.allowed_users == alone.Authenticator.allowed_users
    # the roles: configure()'s, except that its culler's role is the chart's culler's, with the same scopes
    roles = {r["name"]: r for r in hub.JupyterHub.load_roles}
    alone_culler = culler(alone.JupyterHub.services)[0]["name"]
    for role in alone.JupyterHub.load_roles:
        if role.get("services") == [alone_culler]:
            (chart_role,) = [r for r in roles.values() if r.get("services") == ["jupyterhub-idle-culler"]]
            assert sorted(chart_role["scopes"]) == sorted(role["scopes"])
        else:
            assert roles.get(role["name"]) == role
    # the services: configure()'s formgrader at its pod's address, with the chart's token; one culler; ngshare
    services = {s["name"]: s for s in hub.JupyterHub.services}
    expected = {s["name"]: s for s in alone.JupyterHub.services}[COURSE_ID]
    assert services[COURSE_ID] == {
        **expected,
        "url": deployed["hub"]["services"][COURSE_ID]["url"],
        "api_token": SECRET[f"hub.services.{COURSE_ID}.apiToken"],
    }
    (the_culler,) = culler(hub.JupyterHub.services)
    assert f"--timeout={IDLE_TIMEOUT_S}" in the_culler["command"]
    assert services["ngshare"] == {
        "name": "ngshare",
        "url": deployed["hub"]["services"]["ngshare"]["url"],
        "api_token": SECRET["hub.services.ngshare.apiToken"],
    }
    # the user servers: each Spawner setting of configure() is what KubeSpawner ends up with
    for trait, value in alone.Spawner.items():
        effective = hub.KubeSpawner[trait] if trait in hub.KubeSpawner else hub.Spawner[trait]
        assert effective == value, trait
    assert (hub.KubeSpawner.mem_guarantee, hub.KubeSpawner.cpu_guarantee) == (k8s.MEMORY_GUARANTEE, k8s.CPU_GUARANTEE)
    assert hub.JupyterHub.authenticator_class == "pam"  # not the chart's dummy: nobody in until the site says how


def test_on_kubernetes_says_when_the_formgrader_s_address_is_missing():
    c = Config()
    c.JupyterHub.services = []
    with pytest.raises(RuntimeError, match=f"hub.services.{COURSE_ID}"):
        k8s.on_kubernetes(c, k8s.course_for())


def test_every_pod_s_nbgrader_uses_the_ngshare_service(rendered, monkeypatch):
    config = rendered["singleuser"]["extraFiles"]["nbgrader-config"]
    assert config["mountPath"] == "/etc/jupyter/nbgrader_config.py"
    called = []
    stub = types.ModuleType("ngshare_exchange")
    stub.configureExchange = lambda c, url=None: called.append(url)
    monkeypatch.setitem(sys.modules, "ngshare_exchange", stub)
    c = Config()
    exec(config["stringData"], {"get_config": lambda: c})
    assert c.CourseDirectory.course_id == COURSE_ID and called == [k8s.NGSHARE_URL]
    # that URL is ngshare's Service, port and prefix
    docs = manifests("ngshare.yaml")
    url = urlparse(k8s.NGSHARE_URL)
    service, deployment = docs[("Service", url.hostname)], docs[("Deployment", url.hostname)]
    (port,) = service["spec"]["ports"]
    ngshare = container(deployment, "ngshare")
    env = env_of(ngshare)
    assert port["port"] == url.port and port["targetPort"] == ngshare["ports"][0]["name"]
    assert urlparse(env["JUPYTERHUB_SERVICE_URL"]).port == ngshare["ports"][0]["containerPort"]
    assert env["JUPYTERHUB_SERVICE_PREFIX"] == url.path + "/"
    assert env["JUPYTERHUB_API_TOKEN"]["secretKeyRef"] == {"name": "hub", "key": "hub.services.ngshare.apiToken"}
    assert rendered["hub"]["services"]["ngshare"]["url"] == f"http://{url.hostname}:{url.port}"
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert labels["hub.jupyter.org/network-access-hub"] == "true"
    # the user pods' network policy lets them reach it
    (rule,) = [
        r
        for r in rendered["singleuser"]["networkPolicy"]["egress"]
        if r["to"][0]["podSelector"]["matchLabels"].items() <= labels.items()
    ]
    assert {"port": url.port, "protocol": "TCP"} in rule["ports"]
    # its database and files on its volume; the formgrader service is its administrator
    (mount,) = ngshare["volumeMounts"]
    args = ngshare["command"]
    assert args[args.index("--database") + 1].startswith(f"sqlite:///{mount['mountPath']}/")
    assert args[args.index("--storage") + 1].startswith(mount["mountPath"] + "/")
    assert args[args.index("--admins") + 1] == COURSE_ID
    # the formgrader mounts the very file of the user pods, from the chart's Secret `singleuser`
    formgrader = manifests("formgrader.yaml")[("StatefulSet", "relucourse-formgrader")]
    (volume,) = [v for v in formgrader["spec"]["template"]["spec"]["volumes"] if "secret" in v]
    assert volume["secret"]["secretName"] == "singleuser"
    assert volume["secret"]["items"] == [{"key": "nbgrader-config", "path": "nbgrader-config"}]
    (mount,) = [m for m in container(formgrader, "formgrader")["volumeMounts"] if m["name"] == volume["name"]]
    assert (mount["mountPath"], mount["subPath"]) == (config["mountPath"], "nbgrader-config")


def test_the_formgrader_pod_is_the_service_configure_declares(rendered):
    docs = manifests("formgrader.yaml")
    url = urlparse(rendered["hub"]["services"][COURSE_ID]["url"])
    service, workload = docs[("Service", url.hostname)], docs[("StatefulSet", url.hostname)]
    formgrader = container(workload, "formgrader")
    course = k8s.course_for()
    assert service["spec"]["ports"][0]["port"] == url.port == course.service_port
    assert formgrader["ports"][0]["containerPort"] == urlparse(env_of(formgrader)["JUPYTERHUB_SERVICE_URL"]).port
    assert formgrader["args"] == formgrader_command(course)
    env = env_of(formgrader)
    assert env["JUPYTERHUB_API_TOKEN"]["secretKeyRef"] == {"name": "hub", "key": f"hub.services.{COURSE_ID}.apiToken"}
    assert env["JUPYTERHUB_SERVICE_NAME"] == COURSE_ID and env["JUPYTERHUB_CLIENT_ID"] == f"service-{COURSE_ID}"
    assert env["JUPYTERHUB_SERVICE_PREFIX"] == f"/services/{COURSE_ID}/"
    assert env["JUPYTERHUB_OAUTH_CALLBACK_URL"] == f"/services/{COURSE_ID}/oauth_callback"
    assert f"access:services!service={COURSE_ID}" in json.loads(env["JUPYTERHUB_OAUTH_ACCESS_SCOPES"])
    # what the formgrader service's environment is on one machine, at the image's paths
    one = Config()
    on_one_machine(one, Course(course_dir="/c", python="/v/bin/python"))
    local = one.JupyterHub.services[0]["environment"]
    assert env["JUPYTERHUB_DEFAULT_URL"] == local["JUPYTERHUB_DEFAULT_URL"]
    assert Path(env["JUPYTER_CONFIG_PATH"]).relative_to(k8s.IMAGE_ROOT) == FORMGRADER_CONFIG.relative_to(ROOT)
    assert workload["spec"]["template"]["metadata"]["labels"]["hub.jupyter.org/network-access-hub"] == "true"
    (course_mount,) = [m for m in formgrader["volumeMounts"] if m["name"] == "course"]
    assert course_mount["mountPath"] == formgrader["workingDir"] == course.course_dir
    assert [t["metadata"]["name"] for t in workload["spec"]["volumeClaimTemplates"]] == ["course"]
    # the same image as the user pods, with the exercises
    image = rendered["singleuser"]["image"]
    assert formgrader["image"] == f"{image['name'].replace('-singleuser', '-formgrader')}:{image['tag']}"


def test_the_image_is_the_course_s_environment_without_the_solutions_for_students():
    stages = re.split(r"^FROM ", (K8S / "Dockerfile").read_text(), flags=re.M)[1:]
    singleuser, formgrader = stages
    assert singleuser.startswith("python:3.11") and " AS singleuser" in singleuser.splitlines()[0]
    assert formgrader.startswith("singleuser AS formgrader")
    assert f"WORKDIR {k8s.IMAGE_ROOT}\n" in singleuser and "python -m venv .venv" in singleuser
    assert Path(k8s.PYTHON) == Path(k8s.IMAGE_ROOT) / ".venv" / "bin" / "python"
    assert "-r requirements.txt -c constraints.txt" in singleuser and "ngshare_exchange==0.5.2" in singleuser
    assert "exercises" not in singleuser.replace("no exercises/", "") and "COPY exercises/" in formgrader
    user_config = re.search(r"JUPYTER_CONFIG_PATH=(\S+)", singleuser).group(1)
    assert Path(user_config).relative_to(k8s.IMAGE_ROOT) == USER_CONFIG.relative_to(ROOT)
    ngshare = (K8S / "ngshare.Dockerfile").read_text()
    assert "ngshare==0.6.0" in ngshare and re.search(r"SQLAlchemy==1\.4\.\d+", ngshare)


def test_render_refuses_someone_both_student_and_instructor(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("id,first_name,last_name,email\nalice,A,B,a@example.org\n")
    done = subprocess.run(
        [sys.executable, "-m", "classroom.k8s", "values", "--roster", str(roster), "--instructors", "alice"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "alice cannot be both student and instructor" in done.stderr
    assert done.stdout == ""
