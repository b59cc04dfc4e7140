"""The review queue: flagged comments, newest first, approved or rejected by a logged-in moderator."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import HiddenField, SubmitField, TextAreaField
from wtforms.validators import Length

from moderation.policy import DECISIONS as POLICY_DECISIONS
from moderation_web.service import services
from moderation_web.store import APPROVED, PENDING, REJECTED, STATUSES, AlreadyDecided, NotFound

FILTERS = (*STATUSES, "all")
DECISIONS = tuple(d for d in POLICY_DECISIONS if d != "allow")  # a queued comment's; no filter shows both
MAX_REASON_CHARS = 500

bp = Blueprint("queue", __name__, url_prefix="/queue")


class DecisionForm(FlaskForm):
    # A textarea, not an input: Enter in a one-line input would submit the form with its first button.
    reason = TextAreaField("Reason (optional)", validators=[Length(max=MAX_REASON_CHARS)])
    back_status = HiddenField()  # the filters and page to return to
    back_decision = HiddenField()
    back_page = HiddenField()
    approve = SubmitField("Approve")
    reject = SubmitField("Reject")


def decision_form(comment_id: int, status: str = PENDING, page: int = 1, decision: str | None = None) -> DecisionForm:
    # One form per comment, prefixed so that field ids stay unique on a page of many.
    return DecisionForm(prefix=f"c{comment_id}", back_status=status, back_page=str(page), back_decision=decision or "")


def decision_filter(value: str | None) -> str | None:
    if value and value not in DECISIONS:
        abort(400, f"Unknown decision {value!r}: use one of {', '.join(DECISIONS)}, or none for both.")
    return value or None


@bp.get("")
@login_required
def index() -> ResponseReturnValue:
    status = request.args.get("status", PENDING)
    if status not in FILTERS:
        abort(400, f"Unknown status {status!r}: use one of {', '.join(FILTERS)}.")
    decision = decision_filter(request.args.get("decision"))
    store = services().store
    page = store.comments_page(None if status == "all" else status, request.args.get("page", 1, type=int),
                               services().settings.page_size, decision)
    forms = {c.id: decision_form(c.id, status, page.page, decision) for c in page.items if c.status == PENDING}
    return render_template("queue.html", page=page, filter=status, filters=FILTERS, decision=decision,
                           decisions=DECISIONS, counts=store.status_counts(decision), forms=forms)


@bp.post("/<int(max=9223372036854775807):comment_id>")  # larger ids are no row of any database: 404
@login_required
def decide(comment_id: int) -> ResponseReturnValue:
    form = decision_form(comment_id)
    back_status = form.back_status.data if form.back_status.data in FILTERS else PENDING
    back_page = int(form.back_page.data) if (form.back_page.data or "").isdigit() else 1
    back_decision = form.back_decision.data if form.back_decision.data in DECISIONS else None
    back = redirect(url_for("queue.index", status=back_status, decision=back_decision, page=back_page), code=303)
    if not form.validate_on_submit():
        for errors in form.errors.values():
            flash(f"Comment #{comment_id} was not changed: {' '.join(errors)}", "error")
        return back
    if form.approve.data == form.reject.data:
        abort(400, "Choose either Approve or Reject.")
    status = APPROVED if form.approve.data else REJECTED
    try:
        comment = services().store.decide(comment_id, status, current_user.username,
                                             (form.reason.data or "").strip())
    except NotFound:
        abort(404, f"There is no comment #{comment_id}.")
    except AlreadyDecided as exc:
        flash(f"Nothing changed: {exc}.", "warning")
        return back
    flash(f"Comment #{comment.id} {comment.status}.", "success")
    return back
