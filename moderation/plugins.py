"""The plugin manager: loads every ``moderation`` entry point and collects what each one registers.

Each entry point is imported and each of its hooks called on its own, so one broken plugin is listed
with its error and never takes the host down.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import traceback
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from moderation import hookspecs
from moderation.errors import UserError
from moderation.protocols import optional

# The names plugins and scripts may rely on; anything else here may change without notice.
__all__ = ["ENTRY_POINT_GROUP", "HOOKS", "PluginError", "PluginInfo", "Registry", "entry_points", "build_registry",
           "get_registry", "source_digest"]

ENTRY_POINT_GROUP = "moderation"
HOOKS = {
    "teacher": "register_teachers",
    "student": "register_students",
    "prompt_strategy": "register_prompt_strategies",
    "audit": "register_audits",
    "dataset": "register_datasets",
}


class PluginError(UserError):
    """A plugin is missing, broken or ambiguous; the message says which and what to do."""


@dataclass(frozen=True)
class PluginInfo:
    """One registered plugin (or, with ``error`` set, one that failed to load)."""

    kind: str
    name: str
    description: str
    distribution: str
    version: str
    entry_point: str
    factory: Callable[..., Any] | None = field(default=None, compare=False, repr=False)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "description": self.description,
            "distribution": self.distribution,
            "version": self.version,
            "entry_point": self.entry_point,
            "error": self.error,
        }


# Former names of built-in plugins, accepted for a release: plugin names are kebab-case.
RENAMED = {("dataset", "jigsaw_toxic"): "jigsaw-toxic", ("dataset", "bias_madlibs"): "bias-madlibs",
           ("dataset", "csv"): "user-file"}


def canonical(kind: str, name: str) -> str:
    """A plugin's current name, for one it had before (a saved model's lineage may hold those)."""
    return RENAMED.get((kind, name), name)


@dataclass
class Registry:
    """Everything the installed plugins registered, by (kind, name), plus what failed."""

    plugins: dict[tuple[str, str], PluginInfo] = field(default_factory=dict)
    conflicts: dict[tuple[str, str], list[PluginInfo]] = field(default_factory=dict)
    failures: list[PluginInfo] = field(default_factory=list)

    def add(self, info: PluginInfo) -> None:
        key = (info.kind, info.name)
        if key in self.conflicts:
            self.conflicts[key].append(info)
        elif key in self.plugins:
            self.conflicts[key] = [self.plugins.pop(key), info]
        else:
            self.plugins[key] = info

    def names(self, kind: str) -> list[str]:
        return sorted(name for k, name in self.plugins if k == kind)

    def get(self, kind: str, name: str) -> PluginInfo:
        if (kind, name) in RENAMED:
            warnings.warn(f"the {kind} {name!r} is now called {canonical(kind, name)!r}; the old name will stop "
                          "working in a later release", FutureWarning, stacklevel=2)
            name = canonical(kind, name)
        key = (kind, name)
        if key in self.conflicts:
            raise PluginError(conflict_message(self.conflicts[key]))
        if key not in self.plugins:
            known = ", ".join(self.names(kind)) or "none installed"
            raise PluginError(
                f"no {kind} plugin named {name!r} (installed: {known}); "
                "run `moderation plugins` to see every plugin and any that failed to load"
            )
        return self.plugins[key]

    def create(self, kind: str, name: str, **params: Any) -> Any:
        """An instance of a plugin; parameters its factory does not take are a clear error, not a TypeError."""
        factory = self.get(kind, name).factory
        try:
            signature = inspect.signature(factory)
        except (TypeError, ValueError):  # a builtin or C factory: let the call itself check
            return factory(**params)
        try:
            signature.bind(**params)
        except TypeError as exc:
            takes = ", ".join(p for p in signature.parameters if p not in ("self", "args", "kwargs")) or "none"
            raise PluginError(f"{kind} {name!r} does not take these parameters ({exc}); it takes: {takes}") from None
        return factory(**params)

    def rows(self) -> list[PluginInfo]:
        """Every plugin for listing: working ones, both sides of each conflict, and failures."""
        conflicted = [
            _with_error(info, conflict_message(infos)) for infos in self.conflicts.values() for info in infos
        ]
        return sorted([*self.plugins.values(), *conflicted], key=lambda i: (i.kind, i.name)) + self.failures


def conflict_message(infos: Iterable[PluginInfo]) -> str:
    infos = list(infos)
    who = " and ".join(f"{i.distribution} {i.version} (entry point {i.entry_point!r})" for i in infos)
    return (
        f"{infos[0].kind} {infos[0].name!r} is registered by more than one plugin: {who}; "
        "uninstall or rename one of them"
    )


def _with_error(info: PluginInfo, error: str) -> PluginInfo:
    return PluginInfo(**{**info.as_dict(), "error": error, "factory": info.factory})


def _describe(obj: Any) -> str:
    text = optional(obj, "plugin", "description") or inspect.getdoc(obj) or ""
    return text.strip().splitlines()[0] if text.strip() else ""


def _registrar(kind: str, ep: metadata.EntryPoint, registry: Registry) -> Callable[..., None]:
    dist = ep.dist.name if ep.dist else "unknown"
    version = ep.dist.version if ep.dist else "unknown"

    def register(name_or_cls: Any, factory: Callable[..., Any] | None = None, description: str = "") -> None:
        if factory is None:
            cls = name_or_cls
            name = getattr(cls, "name", None)
            if not isinstance(name, str) or not name:
                raise PluginError(f"{cls!r} has no string `name` attribute; use register(name, factory)")
            factory, description = cls, description or _describe(cls)
        else:
            name = name_or_cls
            description = description or _describe(factory)
        registry.add(PluginInfo(kind, name, description, dist, version, ep.name, factory))

    return register


def _failure(ep: metadata.EntryPoint, exc: BaseException, stage: str) -> PluginInfo:
    dist = ep.dist.name if ep.dist else "unknown"
    version = ep.dist.version if ep.dist else "unknown"
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" at {last[0].filename}:{last[0].lineno}" if last else ""
    error = f"failed on {stage}: {type(exc).__name__}: {exc}{where}"
    return PluginInfo("?", ep.name, "", dist, version, ep.name, None, error)


def source_digest(kind: str, name: str) -> str:
    """A hash of the module that defines a plugin: cached models are keyed on it, since an edited plugin
    trains a different model."""
    module = inspect.getmodule(get_registry().get(kind, name).factory)
    return hashlib.sha256(inspect.getsource(module).encode()).hexdigest()[:12]


def entry_points() -> list[metadata.EntryPoint]:
    """The group's entry points, one per (distribution, name) even where a path holds two copies."""
    seen: dict[tuple[str, str], metadata.EntryPoint] = {}
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        seen.setdefault((ep.dist.name if ep.dist else "", ep.name), ep)
    return list(seen.values())


def build_registry(eps: Iterable[metadata.EntryPoint]) -> Registry:
    """Load each entry point and call each of its hooks in isolation."""
    registry = Registry()
    for ep in eps:
        pm = pluggy.PluginManager(hookspecs.PROJECT)
        pm.add_hookspecs(hookspecs)
        try:
            module = ep.load()
        except Exception as exc:  # a broken plugin must not take the host down
            registry.failures.append(_failure(ep, exc, "import"))
            continue
        try:
            pm.register(module, name=ep.name)
            pm.check_pending()  # a misspelt hook name is an error, not a silent no-op
        except Exception as exc:
            registry.failures.append(_failure(ep, exc, "registration"))
            continue
        for kind, hook in HOOKS.items():
            try:
                getattr(pm.hook, hook)(register=_registrar(kind, ep, registry))
            except Exception as exc:
                registry.failures.append(_failure(ep, exc, hook))
    return registry


@functools.lru_cache(maxsize=1)
def get_registry() -> Registry:
    """The registry of every installed plugin, loaded once per process."""
    return build_registry(entry_points())
