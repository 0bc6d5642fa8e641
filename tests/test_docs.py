"""The documentation's code runs: every ```python block of docs/*.md, and the site builds.

A page's blocks run in order in one namespace (later blocks use names from earlier
ones). A block is skipped when its fence is tagged ``title="sketch"`` or when the
line before it is ``<!-- no-test -->``. ``mkdocs build --strict`` must succeed when
mkdocs is installed (it is in the ``dev`` extra).
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<ticks>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)$")


def python_blocks(text: str) -> list[tuple[int, str]]:
    """``(line number, code)`` of each runnable python block of a markdown text, in order."""
    lines = text.splitlines()
    blocks: list[tuple[int, str]] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, ticks, info = m["indent"], m["ticks"], m["info"].strip()
        start = i
        body: list[str] = []
        i += 1
        while i < len(lines):
            close = FENCE.match(lines[i])
            if close and close["ticks"].startswith(ticks) and not close["info"].strip():
                break
            body.append(lines[i])
            i += 1
        i += 1  # past the closing fence
        words = info.split()
        if not words or words[0].lstrip("{.").rstrip("}") not in ("python", "py"):
            continue
        if re.search(r"""title\s*=\s*["']sketch["']""", info):
            continue
        previous = next((ln.strip() for ln in reversed(lines[:start]) if ln.strip()), "")
        if previous == "<!-- no-test -->":
            continue
        code = textwrap.dedent("\n".join(ln[len(indent) :] if ln.startswith(indent) else ln for ln in body))
        blocks.append((start + 1, code))
    return blocks


PAGES = sorted(DOCS.glob("*.md"))


def test_the_extractor_finds_skips_and_keeps_order() -> None:
    text = "\n".join(
        [
            "```python",
            "a = 1",
            "```",
            '```python title="sketch"',
            "raise SystemExit",
            "```",
            "<!-- no-test -->",
            "",
            "```python",
            "raise SystemExit",
            "```",
            "```bash",
            "echo no",
            "```",
            "    ```python",
            "    b = a + 1",
            "    ```",
        ]
    )
    assert python_blocks(text) == [(1, "a = 1"), (15, "b = a + 1")]


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_page_examples_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem.replace('-', '_')}"}
    for lineno, code in python_blocks(page.read_text(encoding="utf-8")):
        try:
            exec(compile(code, f"{page.name}:{lineno}", "exec"), namespace)
        except Exception as e:  # pragma: no cover - the failure message is the point
            raise AssertionError(f"{page.name}, block at line {lineno} failed: {e!r}") from e


def test_every_page_has_runnable_code_or_is_a_known_prose_page() -> None:
    # prose pages: written by other people, or tables mapping other systems to subkit
    prose = {"storage.md", "payments.md", "coming-from-stripe-lago.md"}
    for page in PAGES:
        if page.name not in prose:
            assert python_blocks(page.read_text(encoding="utf-8")), f"{page.name} has no runnable example"


def test_events_page_lists_every_event_type() -> None:
    from subkit.core.events import EventType

    text = (DOCS / "events.md").read_text(encoding="utf-8")
    missing = [t.value for t in EventType if f"`{t.value}`" not in text]
    assert missing == []


def test_nav_lists_every_page() -> None:
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert [p.name for p in PAGES if p.name not in nav] == []


@pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None, reason="mkdocs not installed (dev extra)")
def test_mkdocs_build_strict(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "-f",
            str(ROOT / "mkdocs.yml"),
            "-d",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "index.html").exists()


def test_the_status_table_documents_exactly_the_statuses_the_code_has() -> None:
    """docs/subscriptions.md tells one story with the code: one row per SubscriptionStatus, no more."""
    from subkit import SubscriptionStatus

    text = (Path(__file__).resolve().parents[1] / "docs" / "subscriptions.md").read_text()
    table = text.split("| Status | Meaning |", 1)[1].split("\n\n", 1)[0]
    documented = re.findall(r"^\| `([a-z_]+)` \|", table, flags=re.M)
    assert sorted(documented) == sorted(s.value for s in SubscriptionStatus)
    assert "does not set it" not in table


def test_every_guide_page_links_to_the_api_reference() -> None:
    guides = [p for p in (ROOT / "docs").glob("*.md")]
    assert guides
    missing = [p.name for p in guides if "](reference/" not in p.read_text(encoding="utf-8")]
    assert missing == []
