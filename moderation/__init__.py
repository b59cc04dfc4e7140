"""Toxicity moderation with knowledge distillation: a pluggy host for teachers, students,
prompt strategies, audits and data sets."""

from moderation.hookspecs import hookimpl

__all__ = ["hookimpl"]
__version__ = "0.1.0"
