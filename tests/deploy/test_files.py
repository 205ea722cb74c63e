"""The deployment files agree with the settings' defaults and with each other.

Docker cannot run here: the Dockerfile is read with dockerfile-parse (the parser of
containerbuildsystem's tools) and the compose file with PyYAML; the systemd unit and coturn's
configuration are simple enough to read line by line.
"""

from __future__ import annotations

import base64
import re
import shlex
import tomllib
from pathlib import Path

import pytest
import yaml
from dockerfile_parse import DockerfileParser

from server.platform.settings import DEFAULT_PORT, Settings, SettingsError

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
MEDIA_LOW, MEDIA_HIGH = Settings().media_ports


def _dockerfile() -> DockerfileParser:
    parser = DockerfileParser(path=str(DEPLOY / "Dockerfile"))
    return parser


def _instructions(parser: DockerfileParser, name: str) -> list[str]:
    return [i["value"] for i in parser.structure if i["instruction"] == name]


def _pairs(path: Path) -> list[tuple[str, str]]:
    """key=value lines (systemd unit, coturn), comments and sections skipped."""
    pairs = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        pairs.append((key.strip(), value.strip()))
    return pairs


def test_dockerfile_ports_volume_and_user() -> None:
    parser = _dockerfile()
    assert parser.baseimage.startswith("python:3.11")
    exposed = " ".join(_instructions(parser, "EXPOSE")).split()
    assert f"{DEFAULT_PORT}/tcp" in exposed
    assert f"{MEDIA_LOW}-{MEDIA_HIGH}/udp" in exposed
    data_dir = parser.envs["LINGKAR_DATA_DIR"]
    volumes = [v for value in _instructions(parser, "VOLUME") for v in yaml.safe_load(value)]
    assert volumes == [data_dir]
    assert _instructions(parser, "USER") == ["lingkar"]  # never root
    assert _instructions(parser, "STOPSIGNAL") == ["SIGTERM"]
    assert yaml.safe_load(_instructions(parser, "ENTRYPOINT")[0]) == ["lingkar", "serve"]
    # Everything pyproject.toml packages is copied in.
    copied = {shlex.split(v)[0] for v in _instructions(parser, "COPY")}
    for folder in ("server", "rtc", "web"):
        assert folder in copied
        assert (ROOT / folder).is_dir()
    assert {"pyproject.toml", "README.md"} <= set(shlex.split(_instructions(parser, "COPY")[0]))
    # The PDF report's font (server/records/report_pdf.py) is in the image.
    assert any("fonts-dejavu-core" in run for run in _instructions(parser, "RUN"))


def test_compose_runs_lingkar_and_coturn_on_the_defaults() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"lingkar", "coturn"}
    lingkar = services["lingkar"]
    data_dir = _dockerfile().envs["LINGKAR_DATA_DIR"]
    assert lingkar["environment"]["LINGKAR_DATA_DIR"] == data_dir
    mounts = [v.split(":") for v in lingkar["volumes"]]
    assert [m[1] for m in mounts if m[0] in compose["volumes"]] == [data_dir]
    config_mount = next(m for m in mounts if m[1] == lingkar["environment"]["LINGKAR_CONFIG"])
    assert config_mount[2] == "ro"
    assert (DEPLOY / "lingkar.example.toml").is_file()  # what ./lingkar.toml is made from
    # The build context (relative to deploy/) is the repository, where the Dockerfile copies from.
    context = (DEPLOY / lingkar["build"]["context"]).resolve()
    assert context == ROOT
    assert (context / lingkar["build"]["dockerfile"]).is_file()
    # The media range (UDP) reaches the containers: host networking, or published in full.
    for name, needed in (
        ("lingkar", [f"{DEFAULT_PORT}/tcp", f"{MEDIA_LOW}-{MEDIA_HIGH}/udp"]),
        ("coturn", ["3478/udp"]),
    ):
        service = services[name]
        if service.get("network_mode") != "host":
            published = " ".join(service.get("ports", []))
            for port in needed:
                assert port in published, (name, port)
    assert lingkar["stop_signal"] == "SIGTERM"
    assert int(str(lingkar["stop_grace_period"]).rstrip("s")) >= 10
    conf = next(v for v in services["coturn"]["volumes"] if "turnserver.conf" in v)
    assert (DEPLOY / conf.split(":")[0].removeprefix("./")).is_file()


def test_turnserver_conf_uses_the_rest_api_secret_and_a_separate_range() -> None:
    pairs = _pairs(DEPLOY / "turnserver.conf")
    keys = {k for k, _ in pairs}
    values = dict(pairs)
    assert "use-auth-secret" in keys
    assert values["static-auth-secret"]
    assert "lt-cred-mech" not in keys  # long-term accounts would bypass the expiry
    assert "allow-loopback-peers" not in keys
    assert values["listening-port"] == "3478"
    assert values["tls-listening-port"] == "5349"
    low, high = int(values["min-port"]), int(values["max-port"])
    assert high < MEDIA_LOW or low > MEDIA_HIGH, "coturn's relay range overlaps media_ports"
    denied = [v for k, v in pairs if k == "denied-peer-ip"]
    for private in ("10.0.0.0", "172.16.0.0", "192.168.0.0", "169.254.0.0"):
        assert any(d.startswith(private) for d in denied), private


def test_systemd_unit_is_hardened_and_stops_gracefully() -> None:
    pairs = _pairs(DEPLOY / "lingkar.service")
    values: dict[str, list[str]] = {}
    for key, value in pairs:
        values.setdefault(key, []).append(value)
    assert values["ExecStart"][0].endswith("/lingkar serve")
    environment = dict(e.split("=", 1) for line in values["Environment"] for e in shlex.split(line))
    assert environment["LINGKAR_DATA_DIR"] == "/var/lib/" + values["StateDirectory"][0]
    assert environment["LINGKAR_CONFIG"].startswith("/etc/" + values["ConfigurationDirectory"][0])
    for key, value in {
        "DynamicUser": "yes",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "KillSignal": "SIGTERM",
    }.items():
        assert values[key] == [value], key
    families = values["RestrictAddressFamilies"][0].split()
    assert {"AF_INET", "AF_INET6"} <= set(families)
    assert "AF_PACKET" not in families
    assert int(values["TimeoutStopSec"][0]) >= 10


def test_proxies_force_https_and_replace_the_forwarded_address() -> None:
    nginx = (DEPLOY / "nginx.conf").read_text()
    caddy = (DEPLOY / "Caddyfile").read_text()
    for text in (nginx, caddy):
        assert "Strict-Transport-Security" in text
        assert f"127.0.0.1:{DEFAULT_PORT}" in text
        assert 'trusted_proxies = ["127.0.0.1"]' in text
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in nginx
    assert "$proxy_add_x_forwarded_for" not in nginx
    assert re.search(r"return 301 https://", nginx)


def test_a_cluster_node_file_names_every_shared_setting() -> None:
    """deploy/cluster/node.example.toml: a node's settings, each a real one, refused until its
    placeholders are changed, and a valid node once they are."""
    text = (DEPLOY / "cluster" / "node.example.toml").read_text()
    data = tomllib.loads(text)
    assert set(data) == {
        "node_url",
        "redis_url",
        "database_url",
        "secret_key",
        "notes_key",
    }
    with pytest.raises(SettingsError):
        Settings(**data)  # the placeholders stop the start
    filled = dict(
        data,
        secret_key="ab" * 32,
        notes_key=base64.b64encode(b"n" * 32).decode(),
    )
    settings = Settings(**filled)
    assert settings.clustered
    for uncommented in re.findall(r"^#(\w+) =", text, re.M):
        assert uncommented in Settings.__dataclass_fields__, uncommented


def test_cluster_compose_files_run_a_node_and_the_shared_services() -> None:
    node = yaml.safe_load((DEPLOY / "cluster" / "compose.yaml").read_text())
    assert set(node["services"]) == {"lingkar", "coturn"}
    lingkar = node["services"]["lingkar"]
    assert (DEPLOY / "cluster" / lingkar["build"]["context"]).resolve() == ROOT
    assert lingkar["stop_signal"] == "SIGTERM"
    assert lingkar["network_mode"] == "host"
    data = yaml.safe_load((DEPLOY / "cluster" / "compose.data.yaml").read_text())
    assert set(data["services"]) == {"redis", "postgres"}
    assert "--requirepass" in data["services"]["redis"]["command"]
    drop_in = dict(_pairs(DEPLOY / "cluster" / "lingkar-node.conf"))
    assert "redis-server.service" in drop_in["After"]
