"""Former name of ``moderation.student_training``, kept for a release so that plugins importing from it work."""

import warnings

from moderation.student_training import train_student

__all__ = ["train_student"]

warnings.warn("moderation.training is now moderation.student_training", DeprecationWarning, stacklevel=2)
