"""The words on a rendered invoice or credit note, in English, French and German.

Amounts, dates and numbers are localized by babel for any locale; the words are these
(English for a language not listed). The reverse-charge mention is the one each law asks
for: "Reverse charge" (Council Directive 2006/112/EC, Article 226(11a)), "Autoliquidation"
(France, CGI article 242 nonies A), "Steuerschuldnerschaft des Leistungsempfängers"
(Germany, UStG section 14a(5)).

Example:
    >>> labels("fr_FR")["invoice"], labels("de_CH")["invoice"], labels("pt_BR")["invoice"]
    ('Facture', 'Rechnung', 'Invoice')
"""

from __future__ import annotations

from babel import Locale

__all__ = ["LABELS", "labels"]

_EN = {
    "invoice": "Invoice",
    "credit_note": "Credit note",
    "draft": "draft",
    "number": "Number",
    "issued": "Date of issue",
    "cn_number": "Number",
    "cn_issued": "Date of issue",
    "due": "Due date",
    "period": "Service period",
    "credits_invoice": "Credits invoice",
    "reason": "Reason",
    "seller": "From",
    "customer": "Bill to",
    "tax_id": "Tax ID",
    "description": "Description",
    "qty": "Qty",
    "unit_price": "Unit price",
    "tax_rate": "Tax",
    "amount": "Amount",
    "subtotal": "Subtotal",
    "discount": "Discount",
    "tax": "Tax",
    "total": "Total",
    "credit_applied": "Credit balance applied",
    "credit_notes": "Credit notes",
    "paid": "Paid",
    "amount_due": "Amount due",
    "tax_summary": "Tax summary",
    "tax_code": "Tax",
    "rate": "Rate",
    "base": "Taxable amount",
    "notes": "Notes",
    "exchange_rate": "Exchange rate",
    "fx_line": "1 {base} = {rate} {quote} ({source}, {date}); total {total}",
    "credit_amount": "Amount credited",
    "to_balance": "Credited to the customer's balance",
    "refunded": "Refunded",
    "off_invoice": "Deducted from the amount due",
    "of_which_tax": "of which tax",
    "reverse_charge": "Reverse charge",
}

LABELS: dict[str, dict[str, str]] = {
    "en": _EN,
    "fr": {
        "invoice": "Facture",
        "credit_note": "Avoir",
        "draft": "brouillon",
        "number": "Numéro",
        "issued": "Date d'émission",
        "cn_number": "Numéro",
        "cn_issued": "Date d'émission",
        "due": "Date d'échéance",
        "period": "Période",
        "credits_invoice": "Facture d'origine",
        "reason": "Motif",
        "seller": "Émetteur",
        "customer": "Facturé à",
        "tax_id": "N° TVA",
        "description": "Désignation",
        "qty": "Qté",
        "unit_price": "Prix unitaire",
        "tax_rate": "TVA",
        "amount": "Montant HT",
        "subtotal": "Total HT",
        "discount": "Remise",
        "tax": "TVA",
        "total": "Total TTC",
        "credit_applied": "Avoir déduit",
        "credit_notes": "Avoirs",
        "paid": "Payé",
        "amount_due": "Net à payer",
        "tax_summary": "Récapitulatif de la TVA",
        "tax_code": "Taxe",
        "rate": "Taux",
        "base": "Base HT",
        "notes": "Mentions",
        "exchange_rate": "Taux de change",
        "fx_line": "1 {base} = {rate} {quote} ({source}, {date}) ; total {total}",
        "credit_amount": "Montant de l'avoir",
        "to_balance": "Porté au crédit du client",
        "refunded": "Remboursé",
        "off_invoice": "Déduit du montant dû",
        "of_which_tax": "dont TVA",
        "reverse_charge": "Autoliquidation",
    },
    "de": {
        "invoice": "Rechnung",
        "credit_note": "Gutschrift",
        "draft": "Entwurf",
        "number": "Rechnungsnummer",
        "issued": "Rechnungsdatum",
        "cn_number": "Gutschriftsnummer",
        "cn_issued": "Gutschriftsdatum",
        "due": "Fällig am",
        "period": "Leistungszeitraum",
        "credits_invoice": "Zur Rechnung",
        "reason": "Grund",
        "seller": "Rechnungssteller",
        "customer": "Rechnungsempfänger",
        "tax_id": "USt-IdNr.",
        "description": "Beschreibung",
        "qty": "Menge",
        "unit_price": "Einzelpreis",
        "tax_rate": "USt.",
        "amount": "Betrag netto",
        "subtotal": "Zwischensumme netto",
        "discount": "Rabatt",
        "tax": "Umsatzsteuer",
        "total": "Gesamtbetrag",
        "credit_applied": "Verrechnetes Guthaben",
        "credit_notes": "Gutschriften",
        "paid": "Bezahlt",
        "amount_due": "Zu zahlen",
        "tax_summary": "Steuerübersicht",
        "tax_code": "Steuer",
        "rate": "Satz",
        "base": "Bemessungsgrundlage",
        "notes": "Hinweise",
        "exchange_rate": "Wechselkurs",
        "fx_line": "1 {base} = {rate} {quote} ({source}, {date}); Gesamtbetrag {total}",
        "credit_amount": "Gutschriftsbetrag",
        "to_balance": "Dem Kundenguthaben gutgeschrieben",
        "refunded": "Erstattet",
        "off_invoice": "Vom offenen Betrag abgezogen",
        "of_which_tax": "darin enthaltene USt.",
        "reverse_charge": "Steuerschuldnerschaft des Leistungsempfängers",
    },
}


def labels(locale: str) -> dict[str, str]:
    """The words for ``locale``'s language (English when it is not one of :data:`LABELS`)."""
    return LABELS.get(Locale.parse(locale).language, _EN)
