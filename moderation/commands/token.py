"""`moderation token create|list|revoke`: bearer tokens for the web app's JSON API."""

from __future__ import annotations

import json

import click

from moderation.commands.common import database_option, friendly_errors, json_option, open_store


@click.group("token")
def command() -> None:
    """API tokens for POST /api/v1/moderate (only their hashes are stored)."""


@command.command("create")
@click.option("--name", required=True, help="Who uses the token, e.g. the calling service; unique.")
@database_option
@json_option
@friendly_errors
def create(name: str, database_url: str | None, as_json: bool) -> None:
    """Create a token and print it, once: it cannot be shown again."""
    from moderation_web.auth import create_token

    token, record = create_token(open_store(database_url), name)
    if as_json:
        click.echo(json.dumps({"name": record.name, "token": token, "created_at": record.created_at.isoformat()}))
        return
    click.echo(token)
    click.echo(f"Created API token {record.name!r}. It is shown only this once; keep it secret. "
               "Send it as the header `Authorization: Bearer <token>`.", err=True)


@command.command("list")
@database_option
@json_option
@friendly_errors
def list_(database_url: str | None, as_json: bool) -> None:
    """List tokens by name, with when they were created and revoked."""
    tokens = open_store(database_url).tokens()
    rows = [{"name": t.name, "created_at": t.created_at.isoformat(),
             "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None} for t in tokens]
    if as_json:
        click.echo(json.dumps(rows))
        return
    for row in rows:
        state = f"revoked {row['revoked_at']}" if row["revoked_at"] else "active"
        click.echo(f"{row['name']}\tcreated {row['created_at']}\t{state}")


@command.command("revoke")
@click.argument("name")
@database_option
@friendly_errors
def revoke(name: str, database_url: str | None) -> None:
    """Revoke token NAME: requests with it get 401 from now on."""
    record = open_store(database_url).revoke_token(name)
    click.echo(f"Token {record.name!r} revoked at {record.revoked_at.isoformat()}.")
