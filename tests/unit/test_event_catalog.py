"""The event catalog never drifts from the code: every type has a schema, every publish site fits it,
every event a simulated business emits validates against the exported JSON Schema, and the docs'
table is the catalog's own output."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from subkit.core.events import Event, EventType
from subkit.errors import ValidationError
from subkit.integration.catalog import (
    CATALOG,
    catalog_markdown,
    envelope,
    envelope_json,
    json_schema,
    payload,
)

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "subkit"


def test_every_event_type_has_a_versioned_schema() -> None:
    missing = [t.value for t in EventType if t not in CATALOG]
    assert missing == [], f"add a payload schema to subkit/integration/catalog.py for {missing}"
    assert all(spec.version >= 1 for spec in CATALOG.values())


def test_the_docs_table_is_the_catalog() -> None:
    text = (ROOT / "docs" / "integrations.md").read_text()
    start, end = "<!-- catalog:start -->\n", "<!-- catalog:end -->"
    table = text[text.index(start) + len(start) : text.index(end)]
    assert table.strip() == catalog_markdown().strip(), (
        "docs/integrations.md's catalog is stale: paste subkit.integration.catalog.catalog_markdown()"
    )


def _publish_sites() -> list[tuple[str, EventType, set[str], bool]]:
    """(where, type, keyword names, has **data) of every ``Event.of(EventType.X, ...)`` in src/."""
    sites = []
    for path in SRC.rglob("*.py"):
        if "testing" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "of"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "Event"
                and node.args
            ):
                continue
            first = node.args[0]
            candidates = [first.body, first.orelse] if isinstance(first, ast.IfExp) else [first]
            keys = {k.arg for k in node.keywords if k.arg and k.arg != "customer_id"}
            star = any(k.arg is None for k in node.keywords)
            for c in candidates:
                if (
                    isinstance(c, ast.Attribute)
                    and isinstance(c.value, ast.Name)
                    and c.value.id == "EventType"
                ):
                    sites.append((f"{path.relative_to(SRC)}:{node.lineno}", EventType[c.attr], keys, star))
    return sites


def test_every_publish_site_fits_its_schema() -> None:
    sites = _publish_sites()
    assert len(sites) > 30  # the scan finds them
    wrong = []
    for where, type_, keys, _star in sites:
        fields = CATALOG[type_].payload.model_fields
        required = {n for n, f in fields.items() if f.is_required()}
        if keys - set(fields) or required - keys:
            wrong.append((where, type_.value, sorted(keys - set(fields)), sorted(required - keys)))
    assert wrong == [], "a publish site and its schema disagree: (site, type, unknown, missing)"


def test_a_payload_of_the_wrong_type_is_refused() -> None:
    from datetime import UTC, datetime

    at = datetime(2027, 1, 1, tzinfo=UTC)
    with pytest.raises(ValidationError, match=r"invoice.finalized payload"):
        payload(
            Event.of(EventType.INVOICE_FINALIZED, at, "in_1", number="INV-1", total="10.00", currency="USD")
        )
    with pytest.raises(ValidationError, match="Extra inputs"):
        payload(Event.of(EventType.INVOICE_VOIDED, at, "in_1", email="ada@example.com"))


@pytest.fixture(scope="module")
def demo_events(tmp_path_factory: pytest.TempPathFactory) -> list[Event]:
    """Every event of a small simulated business (card payments, declines, dunning, refunds...)."""
    from subkit.adapters.storage.sql import SqlStore
    from subkit.entrypoints.demo import run_demo

    db = tmp_path_factory.mktemp("catalog") / "demo.sqlite"
    run_demo(db, customers=30, months=3, seed=11)
    with SqlStore(str(db)) as store:
        return list(store.pending_events(1_000_000))


def test_every_event_the_demo_emits_validates_against_the_exported_json_schema(
    demo_events: list[Event],
) -> None:
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is in the dev extra")
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validators = {t: jsonschema.Draft202012Validator(json_schema(t)) for t in CATALOG}
    seen = set()
    for event in demo_events:
        doc = json.loads(envelope_json(event))
        assert doc == envelope(event)
        errors = [e.message for e in validators[event.type].iter_errors(doc)]
        assert errors == [], (event.type.value, errors)
        seen.add(event.type)
    # the demo exercises most of the catalog; the static check above covers every publish site
    assert len(seen) >= 12, sorted(t.value for t in seen)


def test_the_combined_schema_rejects_a_wrong_envelope() -> None:
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is in the dev extra")
    validator = jsonschema.Draft202012Validator(json_schema())
    good = {
        "id": "evt_0123456789abcdef01234567",
        "type": "invoice.paid",
        "schema_version": 1,
        "occurred_at": "2027-01-01T00:00:00+00:00",
        "subject_id": "in_1",
        "customer_id": "cus_1",
        "data": {"amount": 1000},
    }
    assert validator.is_valid(good)
    assert not validator.is_valid({**good, "data": {"amount": "10.00"}})
    assert not validator.is_valid({**good, "schema_version": 2})
    assert not validator.is_valid({**good, "data": {"amount": 1, "name": "Ada"}})
