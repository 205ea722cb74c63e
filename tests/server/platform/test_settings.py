from __future__ import annotations

from pathlib import Path

import pytest

from server.platform.config_file import load_settings
from server.platform.settings import SettingsError


def test_embedded_defaults() -> None:
    settings = load_settings({})
    assert settings.port == 8443
    assert settings.host == "0.0.0.0"
    assert settings.tls_cert is None
    assert settings.database_path == Path("data") / "lingkar.sqlite3"
    assert settings.workers is None  # one per core (server/workers/supervisor.py)


def test_environment_and_flags() -> None:
    settings = load_settings({"LINGKAR_PORT": "9000", "LINGKAR_HOST": "127.0.0.1"}, port=9100)
    assert settings.port == 9100
    assert settings.host == "127.0.0.1"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"LINGKAR_PORT": "eighty"}, "LINGKAR_PORT"),
        ({"LINGKAR_PORT": "70000"}, "port"),
        ({"LINGKAR_PORT": "-1"}, "port"),
        ({"LINGKAR_INSECURE_HTTP": "maybe"}, "LINGKAR_INSECURE_HTTP"),
        ({"LINGKAR_TLS_CERT": "/x.pem"}, "tls_cert and tls_key"),
        ({"LINGKAR_WORKERS": "0"}, "workers: 0 is not between 1 and 64"),
        ({"LINGKAR_WORKERS": "two"}, "LINGKAR_WORKERS"),
    ],
)
def test_invalid_settings_name_the_setting(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        load_settings(env)
