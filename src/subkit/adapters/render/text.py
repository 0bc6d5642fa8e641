"""A :class:`~subkit.adapters.render.document.Document` as plain text (an email body, a terminal).

Example:
    >>> from subkit.adapters.render.document import Document, Party, line_columns
    >>> doc = Document("invoice", "en_US", "Invoice INV-1", {"notes": "Notes", "exchange_rate": "Rate",
    ...                "seller": "From", "customer": "Bill to", "tax_summary": "Tax"}, (("Number", "INV-1"),),
    ...                None, Party("Ada"), (), (("Total", "$0.00"),), (), (), None)
    >>> print(render_text(doc))
    Invoice INV-1
    Number  INV-1
    <BLANKLINE>
    Bill to: Ada
    <BLANKLINE>
      Total  $0.00
"""

from __future__ import annotations

from subkit.adapters.render.document import Document, Party, line_columns
from subkit.adapters.render.formats import table

__all__ = ["render_text"]


def _party(label: str, party: Party | None) -> list[str]:
    if party is None:
        return []
    return [f"{label}: {party.name}".rstrip(": "), *(f"  {line}" for line in party.lines)]


def render_text(doc: Document) -> str:
    """The document as text: header facts, parties, lines and totals, tax summary, mentions, rate."""
    words = doc.labels
    out = [doc.title, *table(("", ""), doc.facts)[1:], ""]
    if doc.seller is not None:
        out += [*_party(words["seller"], doc.seller), ""]
    out += [*_party(words["customer"], doc.customer), ""]
    if doc.rows:
        header, rows, numeric = line_columns(doc)
        blanks = ("",) * (len(header) - 2)
        rows += [(label, *blanks, value) for label, value in doc.totals]
        out += table(header, rows, right=numeric, indent="  ")
    else:
        out += table(("", ""), doc.totals, right=(1,), indent="  ")[1:]
    if doc.tax_summary:
        out += ["", words["tax_summary"]]
        tax_header = (words["tax_code"], words["rate"], words["base"], words["tax"])
        out += table(tax_header, doc.tax_summary, right=(1, 2, 3), indent="  ")
    if doc.notes:
        out += ["", words["notes"], *(f"  {n}" for n in doc.notes)]
    if doc.exchange_rate:
        out += ["", f"{words['exchange_rate']}: {doc.exchange_rate}"]
    return "\n".join(line.rstrip() for line in out)
