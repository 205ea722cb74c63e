"""Where settings come from: the TOML file and the ``LINGKAR_*`` environment variables.

``lingkar serve --config /etc/lingkar/lingkar.toml`` (or ``LINGKAR_CONFIG``) names one flat TOML
file whose keys are the setting names; a variable ``LINGKAR_<NAME>`` wins over the file, a flag
over both. Anything unknown or of the wrong type stops the start with a message naming it: a
misspelt ``turn_secert`` silently ignored would cost a school a day of debugging.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path

from server.platform.settings import Settings, SettingsError

CONFIG_VARIABLE = "LINGKAR_CONFIG"

Converter = Callable[[str, object], object]


def _text(name: str, raw: object) -> str:
    if not isinstance(raw, str):
        raise SettingsError(f"{name}: give a string in quotes")
    return raw


def _path(name: str, raw: object) -> Path:
    return Path(_text(name, raw))


def _int(name: str, raw: object) -> int:
    if isinstance(raw, bool):  # bool is an int in Python; `port = true` is still a mistake
        raise SettingsError(f"{name}: {raw!r} is not a whole number")
    if isinstance(raw, int):
        return raw
    try:
        return int(_text(name, raw))
    except ValueError:
        raise SettingsError(f"{name}: {raw!r} is not a whole number") from None


def _bool(name: str, raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    lowered = _text(name, raw).strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise SettingsError(f"{name}: {raw!r} is not true or false")


def _list(name: str, raw: object) -> tuple[str, ...]:
    # A variable has no arrays: a comma-separated list there.
    if isinstance(raw, str):
        return tuple(x.strip() for x in raw.split(",") if x.strip())
    if isinstance(raw, list) and all(isinstance(x, str) for x in raw):
        return tuple(x.strip() for x in raw)
    raise SettingsError(f"{name}: give a list of strings")


def _ports(name: str, raw: object) -> tuple[int, int]:
    text = _text(name, raw)
    first, dash, last = text.partition("-")
    try:
        if not dash:
            raise ValueError
        return int(first), int(last)
    except ValueError:
        raise SettingsError(f'{name}: {text!r} is not a port range like "40000-40999"') from None


# Every setting a file or a variable may set, with how to read it. The names are the fields of
# server.platform.settings.Settings (a test keeps the two in step).
SETTINGS: dict[str, Converter] = {
    "host": _text,
    "port": _int,
    "data_dir": _path,
    "tls_cert": _path,
    "tls_key": _path,
    "insecure_http": _bool,
    "database_url": _text,
    "secret_key": _text,
    "public_url": _text,
    "ice_servers": _list,
    "turn_secret": _text,
    "media_ports": _ports,
    "notes_key": _text,
    "retention_days": _int,
    "abandoned_minutes": _int,
    "trusted_proxies": _list,
    "metrics_allow": _list,
    "workers": _int,
    "redis_url": _text,
    "node_url": _text,
    "cluster_ca": _path,
}


def variable(name: str) -> str:
    return f"LINGKAR_{name.upper()}"


def read_file(path: Path) -> dict[str, object]:
    """The settings a TOML file sets; errors name the file and the key."""
    try:
        with path.open("rb") as file:
            data = tomllib.load(file)
    except FileNotFoundError:
        raise SettingsError(f"config: {path} does not exist") from None
    except OSError as exc:
        raise SettingsError(f"config: cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"config: {path} is not valid TOML: {exc}") from None
    values: dict[str, object] = {}
    for key, raw in data.items():
        convert = SETTINGS.get(key)
        if convert is None:
            known = ", ".join(SETTINGS)
            raise SettingsError(f"{key} (in {path}): unknown setting; the settings are: {known}")
        values[key] = convert(f"{key} (in {path})", raw)
    return values


def read_environment(env: Mapping[str, str]) -> dict[str, object]:
    values: dict[str, object] = {}
    for key, convert in SETTINGS.items():
        name = variable(key)
        if name in env:
            values[key] = convert(name, env[name])
    return values


def collect(env: Mapping[str, str] | None, config: Path | None) -> dict[str, object]:
    """File, then variables: the values Settings is built from (flags are added by the caller)."""
    source = os.environ if env is None else env
    if config is None and source.get(CONFIG_VARIABLE):
        config = Path(source[CONFIG_VARIABLE])
    values = read_file(config) if config is not None else {}
    values.update(read_environment(source))
    return values


def load_settings(
    env: Mapping[str, str] | None = None,
    *,
    config: Path | None = None,
    **overrides: object,
) -> Settings:
    """Build settings: the TOML file (``config``, else ``LINGKAR_CONFIG``), then
    ``LINGKAR_*`` variables, then keyword overrides (the CLI's flags) win."""
    values = collect(env, config)
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**values)  # type: ignore[arg-type]
