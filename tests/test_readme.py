"""The README is executable: its setup commands are the agreed ones and its Python runs as printed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
TEXT = README.read_text(encoding="utf-8")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
BLOCKS = [(m.group(1), m.group(2)) for m in FENCE.finditer(TEXT)]
PYTHON = [code for lang, code in BLOCKS if lang == "python"]

FRESH_MACHINE = [
    "python3 -m venv .venv && .venv/bin/pip install -e '.[dev]' && .venv/bin/subkit demo",
    "python3 -m venv .venv && .venv/bin/pip install -e '.[dev]' && .venv/bin/python -m pytest",
]


def test_readme_starts_with_the_two_fresh_machine_commands() -> None:
    before = TEXT[: TEXT.index("```")].strip()
    assert before == "# subkit"  # nothing but the title comes first
    lang, code = BLOCKS[0]
    assert lang == "bash"
    assert code.splitlines() == FRESH_MACHINE
    intro = " ".join(TEXT[: TEXT.index("## Quick start")].split())
    assert "`bash .ci/run`: it creates its own virtual environment" in intro
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert '"$venv/bin/python" -m pytest' in ci  # CI runs the README's test command
    for tool in ("ruff", "mypy", "test suite"):
        assert tool in intro


def test_readme_has_a_short_quick_start_with_an_upgrade_and_invoices() -> None:
    assert PYTHON, "the README has no python block"
    quick = PYTHON[0]
    assert len(quick.splitlines()) <= 20
    assert "change_plan(" in quick and "engine.invoices(" in quick and "advance()" in quick


@pytest.mark.parametrize("code", PYTHON, ids=[f"block{n}" for n in range(len(PYTHON))])
def test_python_block_runs(code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # a block that writes files writes them here
    namespace: dict[str, object] = {"__name__": "__readme__"}
    exec(compile(code, str(README), "exec"), namespace)
    defined = {k for k in namespace if not k.startswith("__")}
    assert defined, "the block defined nothing: did it run?"


def test_quick_start_prints_what_the_readme_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    exec(compile(PYTHON[0], str(README), "exec"), {"__name__": "__readme__"})
    printed = capsys.readouterr().out
    # The ```text block right after the quick start is its output, line for line.
    at = BLOCKS.index(("python", PYTHON[0]))
    lang, expected = BLOCKS[at + 1]
    assert lang == "text"
    assert printed == expected
    assert "INV-000002 2027-01-16 $7.00" in printed  # -$5.00 unused Basic + $12.00 for 3 Pro seats
