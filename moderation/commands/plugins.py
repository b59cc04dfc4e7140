"""`moderation plugins`: list installed plugins; `moderation plugins new`: scaffold one."""

from __future__ import annotations

import json
from pathlib import Path

import click

from moderation.commands.common import friendly_errors
from moderation.plugins import PluginInfo, get_registry
from moderation.scaffold import KINDS, new_plugin


@click.group("plugins", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
@click.pass_context
def command(ctx: click.Context, as_json: bool) -> None:
    """List every installed plugin, and any that failed to load."""
    if ctx.invoked_subcommand is not None:
        return
    rows = get_registry().rows()
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in rows], indent=2))
    else:
        click.echo(format_plugins(rows))


def format_plugins(rows: list[PluginInfo]) -> str:
    columns = ("kind", "name", "description", "distribution", "version")
    table = [columns] + [tuple(str(getattr(r, c)) for c in columns) for r in rows if r.error is None]
    widths = [min(max(len(row[i]) for row in table), 60) for i in range(len(columns))]
    lines = ["  ".join(cell[:60].ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in table]
    failed = [r for r in rows if r.error is not None]
    if failed:
        lines += ["", f"{len(failed)} plugin(s) failed to load or conflict:"]
        lines += [f"  {r.entry_point} ({r.distribution} {r.version}): {r.error}" for r in failed]
    return "\n".join(lines)


@command.command("new")
@click.argument("name")
@click.option("--kind", type=click.Choice(KINDS), default="student", show_default=True,
              help="The kind of plugin the package registers.")
@click.option("--dir", "parent", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Where to create the package folder.")
@friendly_errors
def new(name: str, kind: str, parent: Path) -> None:
    """Write a ready-to-install plugin package NAME (pyproject, module, test, README)."""
    root = new_plugin(name, kind, parent)
    click.echo(f"Created {root}\nNext: pip install -e {root} && moderation plugins && pytest {root}")
