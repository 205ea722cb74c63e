"""The TOML settings file and the LINGKAR_* variables: precedence, and errors naming the setting."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path

import pytest

from server.platform.config_file import SETTINGS, load_settings, variable
from server.platform.settings import Settings, SettingsError

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "deploy" / "lingkar.example.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "lingkar.toml"
    path.write_text(text)
    return path


def test_every_setting_can_come_from_the_file_and_the_environment() -> None:
    assert set(SETTINGS) == {f.name for f in dataclasses.fields(Settings)}


def test_file_then_environment_then_flags(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        'port = 9000\nhost = "127.0.0.1"\nretention_days = 7\nmedia_ports = "41000-41099"\n'
        'ice_servers = ["stun:turn.example:3478"]\ntrusted_proxies = ["10.0.0.1"]\n',
    )
    settings = load_settings(
        {"LINGKAR_PORT": "9100", "LINGKAR_TRUSTED_PROXIES": "10.0.0.2, 10.0.0.3"},
        config=config,
        host="::1",
    )
    assert settings.port == 9100  # the variable wins over the file
    assert settings.host == "::1"  # the flag wins over both
    assert settings.retention_days == 7
    assert settings.media_ports == (41000, 41099)
    assert settings.ice_servers == ("stun:turn.example:3478",)
    assert settings.trusted_proxies == ("10.0.0.2", "10.0.0.3")


def test_lingkar_config_names_the_file(tmp_path: Path) -> None:
    config = write(tmp_path, "port = 9001\n")
    assert load_settings({"LINGKAR_CONFIG": str(config)}).port == 9001


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('turn_secert = "x"\n', "turn_secert"),
        ('port = "eighty"\n', "port"),
        ("port = true\n", "port"),
        ("insecure_http = 3\n", "insecure_http"),
        ('ice_servers = "stun:x"\nice_servers = 1\n', "not valid TOML"),
        ("ice_servers = [1]\n", "ice_servers"),
        ('ice_servers = ["http://x"]\n', "ice_servers"),
        ('ice_servers = ["turn:x:3478"]\n', "turn_secret"),
        ('media_ports = "40000"\n', "media_ports"),
        ('media_ports = "900-1000"\n', "media_ports"),
        ('media_ports = "41000-40000"\n', "media_ports"),
        ("retention_days = 0\n", "retention_days"),
        ('notes_key = "short"\n', "notes_key"),
        ('trusted_proxies = ["not-an-address"]\n', "trusted_proxies"),
        ('metrics_allow = ["10.0.0.0/33"]\n', "metrics_allow"),
        ('public_url = "bk.sekolah.sch.id"\n', "public_url"),
        ("[server]\nport = 1\n", "server"),
    ],
)
def test_invalid_file_names_the_setting(tmp_path: Path, text: str, named: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(named)):
        load_settings({}, config=write(tmp_path, text))


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"config: .*does not exist"):
        load_settings({"LINGKAR_CONFIG": str(tmp_path / "nope.toml")})


@pytest.mark.parametrize(
    ("name", "raw"),
    [("retention_days", "a month"), ("media_ports", "many"), ("insecure_http", "perhaps")],
)
def test_invalid_variable_names_the_variable(name: str, raw: str) -> None:
    with pytest.raises(SettingsError, match=variable(name)):
        load_settings({variable(name): raw})


def test_the_example_file_documents_every_setting_with_valid_values() -> None:
    text = EXAMPLE.read_text()
    # Uncomment every setting line (and the continuation lines of the ice_servers array).
    uncommented = re.sub(r"(?m)^#(?=[a-z_]+ = |    \"|\])", "", text)
    assert tomllib.loads(text) == {}, "the example changes nothing until edited"
    data = tomllib.loads(uncommented)
    assert set(data) == set(SETTINGS)
    Settings(**{k: SETTINGS[k](k, v) for k, v in data.items()})  # type: ignore[arg-type]
    defaults = Settings()
    for key in ("host", "port", "insecure_http", "retention_days", "media_ports", "metrics_allow"):
        assert SETTINGS[key](key, data[key]) == getattr(defaults, key), key
