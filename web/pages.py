"""The moderation form, the installed plugins and the serving model's card."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import Field, TextAreaField
from wtforms.validators import ValidationError

from moderation.artifacts import MODEL_CARD
from moderation.plugins import get_registry
from moderation.scoring import InputError, check_text
from moderation_web.auth import limit_anonymous
from moderation_web.service import services

bp = Blueprint("pages", __name__)


def _scoreable(_form: FlaskForm, field: Field) -> None:
    try:
        check_text(field.data or "")
    except InputError as exc:
        raise ValidationError(str(exc)) from None


class ModerateForm(FlaskForm):
    text = TextAreaField("Comment", validators=[_scoreable])


@bp.route("/", methods=["GET", "POST"])
def moderate() -> ResponseReturnValue:
    form = ModerateForm()
    verdict = outcome = None
    if form.validate_on_submit():
        svc = services()
        if current_user.is_authenticated:
            who, queue = current_user.username, True
        else:
            limit_anonymous()
            who, queue = "anonymous", svc.settings.queue_anonymous_form
        outcome = svc.moderate([form.text.data], source="form", submitted_by=who, queue=queue)
        verdict = outcome.verdicts[0]
    status = 400 if form.errors else 200
    return render_template("moderate.html", form=form, verdict=verdict, outcome=outcome), status


@bp.get("/plugins")
def plugins() -> ResponseReturnValue:
    rows = get_registry().rows()
    # Import errors name files on the server: only moderators see them, as `moderation plugins` shows them.
    return render_template("plugins.html", working=[r for r in rows if r.error is None],
                           broken=[r for r in rows if r.error is not None],
                           show_errors=current_user.is_authenticated)


@bp.get("/model")
def model() -> ResponseReturnValue:
    serving = services().model
    card_path = serving.path / MODEL_CARD
    card = card_path.read_text(encoding="utf-8", errors="replace") if card_path.is_file() else None
    return render_template("model.html", serving=serving, manifest=serving.manifest, card=card)
