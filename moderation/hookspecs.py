"""The plugin contract: every hook a moderation plugin can implement.

A plugin is a module (or object) listed under the ``moderation`` entry-point group of a distribution::

    [project.entry-points.moderation]
    my_student = "my_package.my_module"

and implementing one or more of the hooks below with ``@moderation.hookimpl``. Built-in plugins are
listed and loaded exactly the same way. Every hook takes one argument, ``register``, a callable used as

    register(cls)                                   # cls has ``name`` and ``description`` attributes
    register(name, factory, description="...")      # any callable returning an instance

Scorer factories (teachers and students) must also offer ``factory.load(directory)`` so that saved
models reload through ``moderation.artifacts.load_model``. The protocols each kind follows are in
``moderation.protocols``, with ``OPTIONAL``: every optional attribute the host reads, and its default.
Hooks return nothing; a hook that raises marks only its own plugin as failed, never the host.
"""

from __future__ import annotations

import pluggy

PROJECT = "moderation"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_teachers(register):
    """Register teacher scorers: large, slow, accurate models that label data offline.

    :param register: ``register(cls)`` or ``register(name, factory, description=...)``; instances follow
        ``moderation.protocols.Teacher`` (a ``Scorer``, optionally with
        ``fit(train, validation, *, checkpoint_dir=None)``).
    """


@hookspec
def register_students(register):
    """Register student scorers: small, fast models distilled from a teacher's soft scores.

    :param register: ``register(cls)`` or ``register(name, factory, description=...)``; instances follow
        ``moderation.protocols.Student`` (a ``Scorer`` with ``fit(texts, soft_targets, sample_weight)``).
    """


@hookspec
def register_prompt_strategies(register):
    """Register prompt strategies (zero-, one-, few-shot, ...) for promptable teachers.

    :param register: ``register(cls)`` or ``register(name, factory, description=...)``; instances follow
        ``moderation.protocols.PromptStrategy`` (``build(query, pool) -> Prompt``; optionally
        ``build_many(queries, pool)`` to choose exemplars for many queries at once, and ``params`` to be
        saved with a prompted teacher).
    """


@hookspec
def register_audits(register):
    """Register fairness and bias audits run on held-out identity slices.

    :param register: ``register(cls)`` or ``register(name, factory, description=...)``; instances follow
        ``moderation.protocols.Audit`` (``run(scorers, slices) -> AuditResult``).
    """


@hookspec
def register_datasets(register):
    """Register data sets that yield canonical ``moderation.protocols.Record`` rows.

    :param register: ``register(cls)`` or ``register(name, factory, description=...)``; instances follow
        ``moderation.protocols.Dataset`` (``records() -> Iterator[Record]``, plus ``license``).
    """
