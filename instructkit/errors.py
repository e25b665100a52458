"""Errors users see. Each says what is wrong, where, and what to do."""

from __future__ import annotations


class InstructkitError(Exception):
    """Base class of instructkit's own errors."""


class RecipeError(InstructkitError):
    """A recipe, step parameter or command line is invalid. Nothing was read or written (exit 2)."""


class InputError(InstructkitError):
    """An input record or file cannot be read (raised only in strict mode; otherwise quarantined)."""


class RunError(InstructkitError):
    """The run failed after it started (exit 1). Nothing that looks complete was published."""
