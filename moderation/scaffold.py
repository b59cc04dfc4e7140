"""`moderation plugins new`: write a ready-to-install plugin package from a template."""

from __future__ import annotations

import re
from pathlib import Path
from string import Template

from moderation.errors import InputError
from moderation.plugins import HOOKS

TEMPLATES = Path(__file__).with_name("templates") / "plugin"
KINDS = tuple(HOOKS)  # a template for every kind of plugin the host loads
# The word a class name ends with, per kind: KeywordStudent, KeywordAudit, KeywordPromptStrategy...
SUFFIX = {"prompt_strategy": "strategy", "dataset": "dataset"}
_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


def class_name(name: str, kind: str) -> str:
    """``keyword`` -> ``KeywordStudent``; ``keyword-student`` -> ``KeywordStudent``, not ``KeywordStudentStudent``."""
    words, suffix = name.split("-"), SUFFIX.get(kind, kind)
    return "".join(w.title() for w in words) + ("" if words[-1] == suffix else suffix.title())


def new_plugin(name: str, kind: str, parent: Path) -> Path:
    """Create ``parent/moderation-<name>/`` holding a plugin of ``kind`` named ``name``."""
    if kind not in KINDS:
        raise InputError(f"no template for kind {kind!r}; templates exist for: {', '.join(KINDS)}")
    if not _NAME.match(name):
        raise InputError(f"plugin name {name!r} must be lower-case words joined by '-', e.g. 'keyword-student'")
    snake = name.replace("-", "_")
    values = {
        "name": name,
        "dist": f"moderation-{name}",
        "module": f"moderation_{snake}",
        "entry": snake,
        "cls": class_name(name, kind),
        "kind": kind.replace("_", " "),
        "hook": HOOKS[kind],
    }
    root = parent / values["dist"]
    if root.exists():
        raise FileExistsError(f"{root} already exists; choose another name or directory")
    files = {
        "pyproject.toml": "pyproject.toml.tmpl",
        f"{values['module']}.py": f"{kind}/module.py.tmpl",
        f"tests/test_{values['module']}.py": f"{kind}/test_module.py.tmpl",
        "README.md": f"{kind}/README.md.tmpl",
    }
    for target, source in files.items():
        text = Template((TEMPLATES / source).read_text(encoding="utf-8")).substitute(values)
        (root / target).parent.mkdir(parents=True, exist_ok=True)
        (root / target).write_text(text, encoding="utf-8")
    return root
