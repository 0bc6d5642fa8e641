"""A :class:`~subkit.adapters.render.document.Document` as PDF bytes, through WeasyPrint.

WeasyPrint is the optional extra ``pdf`` (``pip install 'subkit[pdf]'``); it lays out the
HTML of :func:`~subkit.adapters.render.html.render_html`, so the PDF says exactly what the
page says. Nothing is written to disk: the caller stores or sends the bytes.

Example:
    >>> from subkit.adapters.render.document import Document, Party
    >>> doc = Document("invoice", "en_US", "Invoice INV-1", {"seller": "From", "customer": "Bill to"},
    ...                (), None, Party("Ada"), (), (), (), (), None)
    >>> render_pdf(doc)[:5]
    b'%PDF-'
"""

from __future__ import annotations

from subkit.adapters.render.document import Document
from subkit.adapters.render.html import render_html
from subkit.errors import ValidationError

__all__ = ["render_pdf"]


def render_pdf(doc: Document) -> bytes:
    """The document as a PDF (A4), via WeasyPrint; a clear error when the extra is missing."""
    try:
        from weasyprint import HTML  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - the extra is installed in the test environment
        raise ValidationError(
            "PDF rendering needs the optional extra: pip install 'subkit[pdf]'", field="format"
        ) from None
    pdf: bytes = HTML(string=render_html(doc)).write_pdf()
    return pdf
