"""Jinja filters: markdown from model cards and report summaries, and timestamps."""

from __future__ import annotations

import functools
from datetime import datetime

from markdown_it import MarkdownIt
from markupsafe import Markup

from moderation.deobfuscation import deobfuscate


@functools.cache
def _markdown() -> MarkdownIt:
    # Raw HTML off: a card or summary with <script> shows it as text. markdown-it also refuses
    # javascript:, vbscript: and data: (non-image) link targets.
    return MarkdownIt("commonmark", {"html": False}).enable("table")


def markdown(text: str) -> Markup:
    return Markup(_markdown().render(text))


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


def read_as(text: str) -> str:
    """What the model read when it differs from what was written (a disguised comment), else ""."""
    read = deobfuscate(text)
    return read if read != text else ""
