"""The store contract on SqlStore: a fresh SQLite file, and PostgreSQL when configured.

PostgreSQL runs when ``SUBKIT_TEST_POSTGRES_URL`` is set (for example
``postgresql+psycopg://postgres@127.0.0.1:5432/test``); each test gets its own
schema (``search_path``), dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from subkit.adapters.storage.sql import SqlStore, make_engine
from subkit.testing.contracts import StoreContract

POSTGRES_URL = os.environ.get("SUBKIT_TEST_POSTGRES_URL")


@pytest.fixture
def postgres_engine_url() -> Iterator[tuple[str, str]]:
    """A fresh schema on the test server: yields (url, schema); drops it afterwards."""
    if not POSTGRES_URL:
        pytest.skip("set SUBKIT_TEST_POSTGRES_URL to run the PostgreSQL contract tests")
    schema = f"t_{uuid.uuid4().hex}"
    admin = create_engine(POSTGRES_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield POSTGRES_URL, schema
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


class TestSqlStoreSqlite(StoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[SqlStore]:
        store = SqlStore(str(tmp_path / "books.sqlite"))
        yield store
        store.close()


class TestSqlStorePostgres(StoreContract):
    @pytest.fixture
    def store(self, postgres_engine_url: tuple[str, str]) -> Iterator[SqlStore]:
        url, schema = postgres_engine_url
        engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
        try:
            yield SqlStore(engine)
        finally:
            engine.dispose()
