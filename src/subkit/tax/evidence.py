"""Evidence of where a customer is: the billing address, and where given the IP and card countries.

The EU asks a seller of digital services to a consumer to hold non-contradictory evidence of
the customer's location (Implementing Regulation 282/2011, Article 24b and 24f). subkit taxes
at the billing country and never picks a winner between disagreeing pieces of evidence: it
reports the conflict (on the tax result, and in the location note the invoice carries), and a
tax engine built with ``on_conflict="raise"`` refuses to tax until the host settles it.

Example:
    >>> from subkit.customer.customer import Address, Customer
    >>> c = Customer(id="cus_1", name="Ada", currency="EUR", country="DE", ip_country="FR")
    >>> ev = evidence_of(c)
    >>> ev.billing_country, ev.conflicts
    ('DE', ('IP country FR differs from billing country DE',))
"""

from __future__ import annotations

from dataclasses import dataclass

from subkit.customer.customer import Customer

__all__ = ["LocationEvidence", "evidence_of"]


@dataclass(frozen=True, slots=True)
class LocationEvidence:
    """What says where the customer is. Countries are ISO 3166 alpha-2, empty when not known.

    Example:
        >>> LocationEvidence("FR", ip_country="FR", card_country="FR").note()
        'Place of supply: FR (billing country FR; IP country FR; card country FR)'
    """

    billing_country: str
    region: str = ""
    ip_country: str = ""
    card_country: str = ""
    customer_country: str = ""

    @property
    def conflicts(self) -> tuple[str, ...]:
        """Every piece of evidence that disagrees with the billing country."""
        found = []
        if self.customer_country and self.customer_country != self.billing_country:
            found.append(
                f"customer country {self.customer_country} differs from billing address country "
                f"{self.billing_country}"
            )
        for label, value in (("IP country", self.ip_country), ("card country", self.card_country)):
            if value and value != self.billing_country:
                found.append(f"{label} {value} differs from billing country {self.billing_country}")
        return tuple(found)

    @property
    def jurisdiction(self) -> str:
        """The country, with its subdivision where taxes depend on it (``US-TX``, ``CA-QC``)."""
        if self.region and self.billing_country in ("US", "CA"):
            return f"{self.billing_country}-{self.region}"
        return self.billing_country

    def note(self) -> str:
        """The line an invoice carries about the place of supply and its evidence."""
        parts = [f"billing country {self.billing_country}"]
        if self.ip_country:
            parts.append(f"IP country {self.ip_country}")
        if self.card_country:
            parts.append(f"card country {self.card_country}")
        text = f"Place of supply: {self.jurisdiction} ({'; '.join(parts)})"
        if self.conflicts:
            text += "; conflicting evidence, taxed at the billing country"
        return text


def evidence_of(customer: Customer) -> LocationEvidence:
    """The location evidence a customer carries: its billing address (else its country), IP and card.

    Example:
        >>> from subkit.customer.customer import Address, Customer
        >>> evidence_of(Customer(id="c", name="Bo", currency="CAD",
        ...                      address=Address(country="ca", region="qc"))).jurisdiction
        'CA-QC'
    """
    address = customer.address
    from_address = address.country.upper() if address is not None else ""
    own = customer.country.upper()
    return LocationEvidence(
        billing_country=from_address or own,
        region=address.region.upper() if address is not None else "",
        ip_country=customer.ip_country.upper(),
        card_country=customer.card_country.upper(),
        customer_country=own if from_address else "",
    )
