"""Options and error handling shared by the CLI verbs."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from moderation.errors import InputError, UserError
from moderation.policy import Policy

if TYPE_CHECKING:
    from moderation_web.store import Store

USER_ERRORS = (UserError, FileExistsError)  # anything else is a bug: its traceback shows


def friendly_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Report the project's own errors as one clear line and exit status 1, without a traceback."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except USER_ERRORS as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper


def model_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--model", "model_path", type=click.Path(path_type=Path), default=None,
        help="Saved model directory. Default: the distilled student that ships with the package.",
    )(command)


def policy_options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option("--block-threshold", type=float, default=None,
                           help="Scores at or above this are blocked. Default: the model's recommended "
                                f"threshold (its manifest's policy), else {Policy.block}.")(command)
    return click.option("--review-threshold", type=float, default=None,
                        help="Scores at or above this go to human review. Default: the model's recommended "
                             f"threshold, else {Policy.review}.")(command)


def json_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")(command)


def resolve_model_path(model_path: Path | None) -> Path:
    """``--model`` if given, else the default model that ships with the package."""
    if model_path is not None:
        return model_path
    from moderation.defaults import ensure_default_model

    return ensure_default_model()


def invoked_command() -> str:
    """The command line as typed, for model cards: how to reproduce what was built."""
    import shlex
    import sys

    return " ".join(["moderation", *(shlex.quote(a) for a in sys.argv[1:])])


def plugin_params(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``--param key=value`` pairs as keyword arguments; values are read as JSON when they parse."""
    import json

    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not key=value", param_hint="--param")
        try:
            params[key.replace("-", "_")] = json.loads(value)
        except json.JSONDecodeError:
            params[key.replace("-", "_")] = value
    return params


def oversample_option(command: Callable[..., Any]) -> Callable[..., Any]:
    option = click.option("--oversample", "oversample", multiple=True, metavar="DATA=N",
                          help="Repeat the training rows of data set DATA N times, e.g. behaviour=4 (repeatable).")
    return option(command)


def bury_option(command: Callable[..., Any]) -> Callable[..., Any]:
    option = click.option("--bury", type=click.FloatRange(0, 1), default=0.0, show_default=True,
                          help="Share of the short toxic training rows also trained on set inside an excerpt "
                               "of a friendly training row, label kept (moderation.burying; 0: none).")
    return option(command)


def bury_for_option(command: Callable[..., Any]) -> Callable[..., Any]:
    option = click.option("--bury-for", "bury_for", multiple=True, metavar="DATA=SHARE",
                          help="The --bury share (of short toxic and unlabelled rows alike) for data set DATA's "
                               "rows, e.g. framed-claims=1.0 (repeatable).")
    return option(command)


def data_values(pairs: tuple[str, ...], usage: str) -> dict[str, Any]:
    """``DATA=X`` option values as {data set: X read as JSON}. Data set names keep their dashes
    ("jigsaw-toxic"), unlike ``plugin_params``' keys; ``usage`` is the error for a pair without "="."""
    import json

    values: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise InputError(f"{usage}, got {pair!r}")
        try:
            values[name.strip()] = json.loads(value)
        except json.JSONDecodeError:
            values[name.strip()] = value
    return values


def oversample_counts(pairs: tuple[str, ...]) -> dict[str, int]:
    """``--oversample`` values as {data set: repeats}."""
    usage = "--oversample takes DATA=N with N a whole number"
    repeats = data_values(pairs, usage)
    bad = {k: v for k, v in repeats.items() if isinstance(v, bool) or not isinstance(v, int)}
    if bad:
        raise InputError(f"{usage}, got {bad}")
    return repeats


def data_numbers(pairs: tuple[str, ...], usage: str) -> dict[str, float]:
    """``DATA=X`` option values as {data set: X}; ``usage`` (e.g. "--alpha-for takes DATA=A with A a number in
    [0, 1]") is the error when an X is not a number."""
    numbers = data_values(pairs, usage)
    bad = {k: v for k, v in numbers.items() if isinstance(v, bool) or not isinstance(v, int | float)}
    if bad:
        raise InputError(f"{usage}, got {bad}")
    return {k: float(v) for k, v in numbers.items()}


def teacher_shares(pairs: tuple[str, ...]) -> dict[str, float]:
    """``--alpha-for`` values as {data set: the teacher's share of its rows' targets}."""
    return data_numbers(pairs, "--alpha-for takes DATA=A with A a number in [0, 1]")


def loss_weights(pairs: tuple[str, ...]) -> dict[str, float]:
    """``--weight-for`` values as {data set: the weight of its rows in the student's loss}."""
    return data_numbers(pairs, "--weight-for takes DATA=W with W a positive number")


def bury_shares(pairs: tuple[str, ...]) -> dict[str, float]:
    """``--bury-for`` values as {data set: the share of its short rows buried in friendly text}."""
    usage = "--bury-for takes DATA=SHARE with SHARE a number in [0, 1]"
    shares = data_numbers(pairs, usage)
    bad = {k: v for k, v in shares.items() if not 0.0 <= v <= 1.0}
    if bad:
        raise InputError(f"{usage}, got {bad}")
    return shares


def teacher_routes(pairs: tuple[str, ...]) -> dict[str, Path]:
    """``--teacher-for`` values as {data set: teacher path}."""
    bad = [p for p in pairs if "=" not in p or not p.split("=", 1)[1]]
    if bad:
        raise InputError(f"--teacher-for takes DATA=PATH, got {', '.join(bad)}")
    return {name.strip(): Path(path) for name, path in (p.split("=", 1) for p in pairs)}


def database_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--database", "database_url", metavar="URL", default=None,
        help="SQLAlchemy URL of the web app's database. Default: $MODERATION_DATABASE_URL, "
             "else SQLite in <data folder>/web/moderation.db.",
    )(command)


def open_store(database_url: str | None) -> Store:
    """The web app's database, its tables created if missing."""
    # Imported here, not at the top: only the web verbs need Flask and SQLAlchemy loaded.
    from moderation_web.settings import Settings
    from moderation_web.store import Store

    store = Store(Settings.from_env().override(database_url=database_url).resolved_database_url())
    store.create_schema()
    return store



def renamed(old: str, new: str, **attrs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Accept ``old``, the former spelling of option ``new``, with a warning, for a release. Put it above
    the ``new`` option, which takes ``callback=from_renamed``; ``attrs`` (type, multiple) as for ``new``."""

    def remember(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        if value is None or value == ():
            return
        click.echo(f"Warning: {old} is now {new}; the old spelling will stop working in a later release.",
                   err=True)
        ctx.meta.setdefault("renamed", {})[new] = value

    return click.option(old, f"renamed_{new.lstrip('-').replace('-', '_')}", hidden=True, expose_value=False,
                        callback=remember, **attrs)


def from_renamed(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """The value given under the option's former spelling, unless the new spelling was given too. Click
    processes the options given on the command line before the others, so the old one is seen first."""
    old = ctx.meta.get("renamed", {}).get(max(param.opts, key=len))
    if old is None or ctx.get_parameter_source(param.name) is not click.core.ParameterSource.DEFAULT:
        return value
    return old
