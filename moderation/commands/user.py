"""`moderation user add|list`: moderator accounts for the web app's review queue."""

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

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    record = create_user(open_store(database_url), username, password)
    click.echo(f"Added moderator {record.username!r}; they can log in at /login.")


@command.command("list")
@database_option
@json_option
@friendly_errors
def list_(database_url: str | None, as_json: bool) -> None:
    """List moderators."""
    rows = [{"username": u.username, "created_at": u.created_at.isoformat()} for u in open_store(database_url).users()]
    if as_json:
        click.echo(json.dumps(rows))
        return
    for row in rows:
        click.echo(f"{row['username']}\tcreated {row['created_at']}")
