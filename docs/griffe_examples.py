"""A griffe extension for the API reference: subkit's ``Example:`` sections are Google-style examples.

griffe reads ``Examples:`` (plural) as an examples section, whose ``>>>`` lines render as
Python console code, and a singular ``Example:`` as an admonition of plain Markdown. subkit's
docstrings say ``Example:``; this extension renames the section title before parsing.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_SINGULAR = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)


class ExamplesSection(griffe.Extension):
    """Rewrite ``Example:`` to ``Examples:`` in every docstring griffe loads."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:  # noqa: ARG002
        if obj.docstring is not None:
            obj.docstring.value = _SINGULAR.sub(r"\1Examples:", obj.docstring.value)
