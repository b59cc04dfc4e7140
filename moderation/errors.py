"""The project's errors: one base class for everything a user can fix.

The CLI prints a ``UserError`` as one line (exit status 1) and lets every other exception, a bug, show its
traceback. Plugins raise these too: ``InputError`` for bad input or settings, ``ModelError`` for a model
whose output cannot be used."""

from __future__ import annotations

# The names plugins and scripts may rely on; anything else here may change without notice.
__all__ = ["UserError", "InputError", "ModelError"]


class UserError(Exception):
    """Something the user can fix; the message says what is wrong and how to fix it."""


class InputError(UserError, ValueError):
    """The input or a setting cannot be used as given. (A ValueError too, for code that catches those.)"""


class ModelError(UserError, ValueError):
    """A model (a plugin's scorer) returned output the host cannot use, e.g. NaN scores."""
