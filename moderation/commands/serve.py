"""`moderation serve`: the web app (form, JSON API, review queue, reports) on one machine.

For production, run the same app under gunicorn with several workers (see the README); both read the
same ``MODERATION_*`` settings, and options given here override them.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click
from click.core import ParameterSource

from moderation.commands.common import (
    database_option,
    friendly_errors,
    model_option,
    policy_options,
    resolve_model_path,
)

# serve's option name -> the Settings field it sets
SETTINGS_OPTIONS = {"model_path": "model", "database_url": "database_url", "reports_dir": "reports_dir",
                    "models_dir": "models_dir",
                    "review_threshold": "review_threshold", "block_threshold": "block_threshold",
                    "allow_anonymous_api": "allow_anonymous_api"}


@click.command("serve")
@model_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="Port to listen on.")
@database_option
@click.option("--reports", "reports_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of audit reports. Default: $MODERATION_REPORTS_DIR, else <data folder>/reports.")
@click.option("--models", "models_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of saved models moderators can audit and promote at /models. "
                   "Default: $MODERATION_MODELS_DIR, else <data folder>/models.")
@policy_options
@click.option("--allow-anonymous-api", is_flag=True,
              help="Let POST /api/v1/moderate work without a bearer token (default: a token is required).")
@friendly_errors
def command(host: str, port: int, **options: object) -> None:
    """Serve the web app on HOST:PORT with the shipped default student or --model."""
    from werkzeug.serving import run_simple

    from moderation_web import create_app
    from moderation_web.settings import Settings

    ctx = click.get_current_context()
    # Only options typed on the command line override the MODERATION_* environment.
    given = {SETTINGS_OPTIONS[name]: value for name, value in options.items()
             if ctx.get_parameter_source(name) != ParameterSource.DEFAULT}
    settings = Settings.from_env().override(**given)
    if settings.model is None:
        settings = replace(settings, model=resolve_model_path(None))
    app = create_app(settings)
    services = app.extensions["moderation"]
    promoted = services.serving.promotion
    if promoted is not None:
        click.echo(f"Promotion #{promoted.id} by {promoted.promoted_by} wins over the configured model.", err=True)
    click.echo(f"Serving {services.model.model_id} at http://{host}:{port}/ "
               f"(review at {services.policy.review}, block at {services.policy.block}; "
               f"API {'open to anonymous callers' if settings.allow_anonymous_api else 'needs a bearer token'}).",
               err=True)
    run_simple(host, port, app, threaded=True)
