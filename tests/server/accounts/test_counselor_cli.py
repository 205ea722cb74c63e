"""``lingkar counselor ...`` as an administrator runs it: a subprocess on a data directory."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert, select

from server.db.engines import sync_url
from server.db.schema import counselors, sessions
from server.platform.settings import Settings

ROOT = Path(__file__).resolve().parents[3]


def lingkar(data_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", "counselor", *args, "--data-dir", str(data_dir)],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def test_add_list_reset_remove(tmp_path: Path) -> None:
    listed = lingkar(tmp_path, "list")
    assert listed.returncode == 0
    assert "No counselor accounts yet" in listed.stdout
    added = lingkar(
        tmp_path,
        "add",
        "bu.ani",
        "--display-name",
        "Bu Ani",
        "--password-stdin",
        stdin="kata sandi panjang\n",
    )
    assert added.returncode == 0, added.stderr
    assert "'bu.ani' created" in added.stdout
    assert "kata sandi" not in added.stdout + added.stderr
    listed = lingkar(tmp_path, "list")
    assert "bu.ani" in listed.stdout
    assert "Bu Ani" in listed.stdout

    engine = create_engine(sync_url(Settings(data_dir=tmp_path).async_database_url))
    with engine.begin() as conn:
        old_hash = conn.execute(select(counselors.c.password_hash)).scalar_one()
        assert old_hash.startswith("$argon2id$")
        conn.execute(
            insert(sessions).values(
                code="ACD-EFG",
                title="Sesi",
                template="online",
                status="planned",
                counselor_id=1,
                created_at=datetime.now(UTC),
            )
        )

    reset = lingkar(
        tmp_path, "reset-password", "bu.ani", "--password-stdin", stdin="baru lagi panjang\n"
    )
    assert reset.returncode == 0, reset.stderr
    with engine.connect() as conn:
        assert conn.execute(select(counselors.c.password_hash)).scalar_one() != old_hash

    refused = lingkar(tmp_path, "remove", "bu.ani", stdin="n\n")
    assert refused.returncode == 1
    assert "not confirmed" in refused.stderr
    removed = lingkar(tmp_path, "remove", "bu.ani", stdin="y\n")
    assert removed.returncode == 0, removed.stderr
    with engine.connect() as conn:
        assert conn.execute(select(counselors)).all() == []
        assert conn.execute(select(sessions)).all() == [], "sessions go with the account"
    engine.dispose()


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("add", "Bu Ani", "--password-stdin"), "kata sandi panjang\n", "a user name has 3-40"),
        (("add", "ab", "--password-stdin"), "kata sandi panjang\n", "a user name has 3-40"),
        (("add", "x" * 41, "--password-stdin"), "kata sandi panjang\n", "a user name has 3-40"),
        (("add", "ani", "--password-stdin"), "pendek\n", "at least 10 characters"),
        (("add", "ani", "--password-stdin"), "x" * 1025 + "\n", "at most 1024"),
        (("reset-password", "nobody", "--password-stdin"), "kata sandi panjang\n", "no counselor"),
        (("remove", "nobody", "--yes"), "", "no counselor account is named 'nobody'"),
    ],
)
def test_bad_input_is_refused_with_exit_1(
    tmp_path: Path, args: tuple[str, ...], stdin: str, message: str
) -> None:
    result = lingkar(tmp_path, *args, stdin=stdin)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert "No counselor accounts yet" in lingkar(tmp_path, "list").stdout


def test_a_taken_user_name_is_refused(tmp_path: Path) -> None:
    first = lingkar(tmp_path, "add", "ani", "--password-stdin", stdin="kata sandi panjang\n")
    assert first.returncode == 0
    again = lingkar(tmp_path, "add", "ani", "--password-stdin", stdin="kata sandi lainnya\n")
    assert again.returncode == 1
    assert "'ani' is taken" in again.stderr


def test_a_bad_database_url_is_a_configuration_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "server.cli", "counselor", "list", "--database-url", "mysql://x"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "database_url" in result.stderr


def test_serve_banner_tells_how_to_make_the_first_account(tmp_path: Path) -> None:
    from server.platform.startup import banner

    settings = Settings(data_dir=tmp_path)
    text = banner(settings, 8443, [], None, False, has_counselors=False)
    assert f".venv/bin/lingkar counselor add NAME --data-dir {tmp_path}" in text
    assert "counselor add" not in banner(settings, 8443, [], None, False, has_counselors=True)
