"""A :class:`~subkit.adapters.render.document.Document` as one self-contained HTML page.

Every piece of text (descriptions, names, addresses, reasons, mentions) is escaped: a
customer named ``<script>`` is printed, never run.

Example:
    >>> from subkit.adapters.render.document import Document, Party, line_columns
    >>> doc = Document("invoice", "fr_FR", "Facture F-1", {"seller": "Émetteur", "customer": "Facturé à"},
    ...                (), None, Party("<b>Ada</b> & Co"), (), (), (), (), None)
    >>> page = render_html(doc)
    >>> '<html lang="fr">' in page, "&lt;b&gt;Ada&lt;/b&gt; &amp; Co" in page, "<b>Ada" in page
    (True, True, False)
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from babel import Locale

from subkit.adapters.render.document import Document, Party, line_columns

__all__ = ["STYLE", "render_html"]

#: The page's CSS (A4 for print and PDF; no external resources).
STYLE = """
@page { size: A4; margin: 18mm 16mm; }
body { font-family: "DejaVu Sans", "Helvetica", "Arial", sans-serif; font-size: 10pt; color: #222; }
h1 { font-size: 18pt; margin: 0 0 8pt; }
table { border-collapse: collapse; width: 100%; margin: 6pt 0; }
th, td { padding: 3pt 4pt; text-align: left; vertical-align: top; }
th { border-bottom: 1px solid #888; font-weight: 600; }
td.n, th.n { text-align: right; white-space: nowrap; }
.parties { display: flex; gap: 24pt; margin: 10pt 0; }
.party { flex: 1; }
.party p { margin: 0; }
.totals td { border-top: 1px solid #ddd; }
.totals tr:last-child td { font-weight: 700; border-top: 1px solid #222; }
.notes, .fx { margin-top: 10pt; }
"""


def _e(text: str) -> str:
    return escape(text, quote=True)


def _party(label: str, party: Party | None) -> str:
    if party is None:
        return ""
    lines = "".join(f"<p>{_e(line)}</p>" for line in party.lines)
    return f'<div class="party"><h2>{_e(label)}</h2><p><strong>{_e(party.name)}</strong></p>{lines}</div>'


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], numeric: set[int], cls: str = "") -> str:
    def cell(tag: str, i: int, text: str) -> str:
        return f'<{tag} class="n">{_e(text)}</{tag}>' if i in numeric else f"<{tag}>{_e(text)}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(cell("td", i, c) for i, c in enumerate(r)) + "</tr>" for r in rows)
    attr = f' class="{cls}"' if cls else ""
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(doc: Document) -> str:
    """The document as a complete HTML page (``lang`` from the locale, inline CSS)."""
    w = doc.labels
    lang = Locale.parse(doc.locale).language
    facts = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in doc.facts)
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{_e(lang)}"><head><meta charset="utf-8"><title>{_e(doc.title)}</title>',
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{_e(doc.title)}</h1>",
        f'<table class="facts">{facts}</table>',
        f'<div class="parties">{_party(w["seller"], doc.seller)}{_party(w["customer"], doc.customer)}</div>',
    ]
    if doc.rows:
        header, rows, numeric = line_columns(doc)
        parts.append(_table(header, rows, numeric, "lines"))
    totals = "".join(f'<tr><td>{_e(k)}</td><td class="n">{_e(v)}</td></tr>' for k, v in doc.totals)
    parts.append(f'<table class="totals"><tbody>{totals}</tbody></table>')
    if doc.tax_summary:
        parts.append(f"<h2>{_e(w['tax_summary'])}</h2>")
        tax_header = (w["tax_code"], w["rate"], w["base"], w["tax"])
        parts.append(_table(tax_header, doc.tax_summary, {1, 2, 3}, "tax"))
    if doc.notes:
        notes = "".join(f"<p>{_e(n)}</p>" for n in doc.notes)
        parts.append(f'<div class="notes"><h2>{_e(w["notes"])}</h2>{notes}</div>')
    if doc.exchange_rate:
        parts.append(f'<p class="fx">{_e(w["exchange_rate"])}: {_e(doc.exchange_rate)}</p>')
    parts.append("</body></html>")
    return "\n".join(parts)
