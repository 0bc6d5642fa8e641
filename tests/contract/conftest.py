"""Contract runs may list known gaps: ``known_gaps = {test name: reason}`` on the test class.

Each listed test (every parameter of it) is marked ``xfail(strict=True)``: it must fail
until the adapter is fixed, and the list must shrink then (a fixed gap fails the run).
"""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        cls = getattr(item, "cls", None)
        gaps: dict[str, str] = getattr(cls, "known_gaps", {}) if cls is not None else {}
        name = getattr(item, "originalname", item.name)
        if name in gaps:
            item.add_marker(pytest.mark.xfail(strict=True, reason=gaps[name]))
