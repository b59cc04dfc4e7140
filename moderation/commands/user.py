"""`moderation user add|list|passwd|disable|enable|remove`: moderator accounts for the web app's review queue.

A new password, disabling and removing end every session of the moderator at once, in every worker."""

from __future__ import annotations

import json
import sys

import click

from moderation.commands.common import database_option, friendly_errors, json_option, open_store


@click.group("user")
def command() -> None:
    """Moderator accounts (passwords are stored as salted hashes)."""


@command.command("add")
@click.argument("username")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of stdin (for scripts) instead of prompting.")
@database_option
@friendly_errors
def add(username: str, password_stdin: bool, database_url: str | None) -> None:
    """Add moderator USERNAME, asking for the password twice."""
    from moderation_web.auth import create_user

    record = create_user(open_store(database_url), username, _read_password(password_stdin))
    click.echo(f"Added moderator {record.username!r}; they can log in at /login.")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@command.command("passwd")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the new password from the first line of stdin.")
@database_option
@friendly_errors
def passwd(username: str, password_stdin: bool, database_url: str | None) -> None:
    """Set a new password for USERNAME; their sessions end."""
    from moderation_web.auth import change_password

    change_password(open_store(database_url), username, _read_password(password_stdin))
    click.echo(f"New password set for {username!r}; their sessions have ended.")


@command.command("disable")
@click.argument("username")
@database_option
@friendly_errors
def disable(username: str, database_url: str | None) -> None:
    """Stop USERNAME from logging in and end their sessions (undo with `enable`)."""
    open_store(database_url).set_disabled(username, True)
    click.echo(f"Disabled {username!r}; their sessions have ended.")


@command.command("enable")
@click.argument("username")
@database_option
@friendly_errors
def enable(username: str, database_url: str | None) -> None:
    """Let a disabled USERNAME log in again."""
    open_store(database_url).set_disabled(username, False)
    click.echo(f"Enabled {username!r}.")


@command.command("remove")
@click.argument("username")
@database_option
@friendly_errors
def remove(username: str, database_url: str | None) -> None:
    """Remove USERNAME and end their sessions; the queue keeps their past decisions under their name."""
    open_store(database_url).remove_user(username)
    click.echo(f"Removed {username!r}.")


@command.command("list")
@database_option
@json_option
@friendly_errors
def list_(database_url: str | None, as_json: bool) -> None:
    """List moderators."""
    rows = [{"username": u.username, "created_at": u.created_at.isoformat(),
             "disabled_at": u.disabled_at.isoformat() if u.disabled_at else None}
            for u in open_store(database_url).users()]
    if as_json:
        click.echo(json.dumps(rows))
        return
    for row in rows:
        state = f"\tdisabled {row['disabled_at']}" if row["disabled_at"] else ""
        click.echo(f"{row['username']}\tcreated {row['created_at']}{state}")
