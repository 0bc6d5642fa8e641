"""Catalog files: a catalog's JSON read from and written to disk (the edge, not the domain).

:mod:`subkit.catalog.catalog` turns a catalog into JSON text and back
(``Catalog.to_json`` / ``Catalog.from_json``) and touches no file; this module does the
file part.

Example:
    >>> import tempfile, pathlib
    >>> from subkit.catalog.catalog import Catalog, Product
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "catalog.json"
    >>> save_catalog(Catalog(products=(Product(id="app", name="App"),)), path)
    >>> load_catalog(path).products[0].name
    'App'
"""

from __future__ import annotations

from pathlib import Path

from subkit.catalog.catalog import Catalog
from subkit.errors import CatalogError

__all__ = ["load_catalog", "save_catalog"]


def load_catalog(path: str | Path) -> Catalog:
    """Read and validate a catalog JSON file; an unreadable file is a ``CatalogError``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise CatalogError(f"cannot read {path}: {e.strerror}", field="path") from None
    return Catalog.from_json(text)


def save_catalog(catalog: Catalog, path: str | Path) -> None:
    """Write ``catalog`` as JSON (amounts as exact strings)."""
    Path(path).write_text(catalog.to_json(), encoding="utf-8")
