"""``lingkar counselor ...``: the administrator's commands for counselor accounts.

They open the same database as ``lingkar serve`` (same --data-dir / --database-url and
``LINGKAR_*`` variables) and migrate it first, so they work before the server ever ran.
Exit codes: 0 done, 1 refused (bad input, unknown or taken name), 2 configuration error.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from server.accounts.counselors import (
    AccountError,
    check_username,
    create_counselor,
    get_counselor_by_username,
    list_counselors,
    remove_counselor,
    set_password,
)
from server.accounts.passwords import PASSWORD_MIN, PasswordError, check_password_rules
from server.db.database import open_database
from server.platform.config_file import load_settings
from server.platform.settings import Settings, SettingsError

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_CONFIG = 2


class Refused(Exception):
    """The command cannot do what was asked; the message says why."""


def add_database_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, help="where the database and certificate live")
    parser.add_argument(
        "--database-url",
        help="SQLAlchemy URL (default: the SQLite file in the data directory)",
    )


def add_counselor_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    counselor = commands.add_parser("counselor", help="manage counselor (guru BK) accounts")
    actions = counselor.add_subparsers(dest="action", required=True, metavar="ACTION")

    add = actions.add_parser("add", help="create an account")
    add.add_argument("username", help="3-40 characters: a-z, 0-9, dot, underscore, hyphen")
    add.add_argument("--display-name", help="the name shown on pages (default: the user name)")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    add_database_options(add)

    listing = actions.add_parser("list", help="list the accounts")
    add_database_options(listing)

    reset = actions.add_parser("reset-password", help="set a new password (ends its logins)")
    reset.add_argument("username")
    reset.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    add_database_options(reset)

    remove = actions.add_parser("remove", help="delete an account and all of its sessions")
    remove.add_argument("username")
    remove.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    add_database_options(remove)


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
    else:
        password = getpass.getpass(f"New password (at least {PASSWORD_MIN} characters): ")
        if getpass.getpass("Repeat the password: ") != password:
            raise Refused("the two passwords differ; nothing was changed")
    try:
        check_password_rules(password)
    except PasswordError as exc:
        raise Refused(str(exc)) from None
    return password


def _confirm(question: str) -> bool:
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in {"y", "yes", "ya"}


async def _add(db: AsyncEngine, args: argparse.Namespace) -> str:
    check_username(args.username)  # before asking for a password
    password = read_password(args.password_stdin)
    counselor = await create_counselor(db, args.username, password, args.display_name)
    return f"Counselor account {counselor.username!r} created. They can log in at /login."


async def _list(db: AsyncEngine, args: argparse.Namespace) -> str:
    accounts = await list_counselors(db)
    if not accounts:
        return "No counselor accounts yet. Make one with: lingkar counselor add NAME"
    lines = [f"{'USERNAME':<40}  {'CREATED':<10}  DISPLAY NAME"]
    lines += [f"{c.username:<40}  {c.created_at:%Y-%m-%d}  {c.display_name}" for c in accounts]
    return "\n".join(lines)


async def _reset(db: AsyncEngine, args: argparse.Namespace) -> str:
    counselor = await get_counselor_by_username(db, args.username)
    if counselor is None:
        raise Refused(f"no counselor account is named {args.username!r}")
    await set_password(db, counselor.id, read_password(args.password_stdin))
    return f"Password of {counselor.username!r} changed; their open logins have ended."


async def _remove(db: AsyncEngine, args: argparse.Namespace) -> str:
    counselor = await get_counselor_by_username(db, args.username)
    if counselor is None:
        raise Refused(f"no counselor account is named {args.username!r}")
    if not args.yes and not _confirm(
        f"Delete the account {counselor.username!r} and all of its sessions?"
    ):
        raise Refused("not confirmed; nothing was deleted")
    await remove_counselor(db, counselor.id)
    return f"Counselor account {counselor.username!r} and its sessions deleted."


ACTIONS: dict[str, Callable[[AsyncEngine, argparse.Namespace], Awaitable[str]]] = {
    "add": _add,
    "list": _list,
    "reset-password": _reset,
    "remove": _remove,
}


async def _run(settings: Settings, args: argparse.Namespace) -> str:
    db = await open_database(settings)
    try:
        return await ACTIONS[args.action](db, args)
    finally:
        await db.dispose()


def run_counselor_command(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(data_dir=args.data_dir, database_url=args.database_url)
    except SettingsError as exc:
        print(f"lingkar: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        print(asyncio.run(_run(settings, args)))
    except (Refused, AccountError, PasswordError) as exc:
        print(f"lingkar: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except KeyboardInterrupt:
        print("\nlingkar: interrupted; nothing was changed", file=sys.stderr)
        return EXIT_REFUSED
    except (OSError, SQLAlchemyError) as exc:
        first_line = (str(exc).splitlines() or [type(exc).__name__])[0]
        print(f"lingkar: cannot use the database: {first_line}", file=sys.stderr)
        return EXIT_CONFIG
    return EXIT_OK
