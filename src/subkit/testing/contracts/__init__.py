"""Contract test suites: run them against your own adapter to prove it fits a port.

As fsspec ships its abstract tests, each capability of a port is one mixin of pytest
tests sharing one fixture; an adapter runs them all, or the capabilities it has while
it grows. Subclass in your tests and provide the fixture (needs pytest)::

    import pytest
    from subkit.testing.contracts import StoreContract

    class TestMyStore(StoreContract):          # every store capability
        @pytest.fixture
        def store(self):
            return MyStore(...)                # a fresh, empty store

==============================  ===============================================================
mixin                           what it checks
==============================  ===============================================================
``StoreCrudContract``           ``get``, ``get_many``, ``lock``, ``add``, ``update``, rollback
``StoreFindContract``           ``find``: indexed attributes only, insertion order, own writes
``StoreDueContract``            ``due``: earliest first, own writes, aware times only
``StoreClaimsContract``         unique keys, committed with their work
``StoreSequenceContract``       gap-free number series
``StoreOutboxContract``         the transactional outbox, in order, each event once
``StoreConcurrencyContract``    optimistic versions and unique ids between threads
``StoreRepositoriesContract``   ``uow.invoices.by_number``, ``uow.payment_methods.by_reference``...
``StoreRoundTripContract``      exact round trips; what some store cannot keep, all refuse
``StorePagesContract``          ``uow.page``/``page_usage``: newest first, whitelisted filters,
                                stable cursors; ``uow.customers.by_email``
``StoreUsageContract``          ``uow.usage``: unique event ids, duplicates, every aggregation
``StoreContract``               all of the above
``EventPublisherContract``      order kept, a batch delivered again delivered once, unique ids
``GatewayContract``             exact charges, idempotency keys (other parameters refused), refunds
``ExchangeRateProviderContract``  rates dated when published, consistent both ways and via the euro
==============================  ===============================================================

Example:
    >>> [m.__name__ for m in StoreContract.__mro__[1:4]]
    ['StoreCrudContract', 'StoreFindContract', 'StoreDueContract']
"""

from subkit.testing.contracts.base import T0, Probe, StoreFixture, bump
from subkit.testing.contracts.gateway import GatewayContract
from subkit.testing.contracts.publisher import EventPublisherContract
from subkit.testing.contracts.rates import ExchangeRateProviderContract
from subkit.testing.contracts.store_data import StoreCrudContract, StoreFindContract, StoreRoundTripContract
from subkit.testing.contracts.store_pages import StorePagesContract
from subkit.testing.contracts.store_repositories import StoreRepositoriesContract
from subkit.testing.contracts.store_usage import StoreUsageContract
from subkit.testing.contracts.store_work import (
    StoreClaimsContract,
    StoreConcurrencyContract,
    StoreDueContract,
    StoreOutboxContract,
    StoreSequenceContract,
)

__all__ = [
    "T0",
    "EventPublisherContract",
    "ExchangeRateProviderContract",
    "GatewayContract",
    "Probe",
    "StoreClaimsContract",
    "StoreConcurrencyContract",
    "StoreContract",
    "StoreCrudContract",
    "StoreDueContract",
    "StoreFindContract",
    "StoreFixture",
    "StoreOutboxContract",
    "StorePagesContract",
    "StoreRepositoriesContract",
    "StoreRoundTripContract",
    "StoreSequenceContract",
    "StoreUsageContract",
    "bump",
]


class StoreContract(
    StoreCrudContract,
    StoreFindContract,
    StoreDueContract,
    StoreClaimsContract,
    StoreSequenceContract,
    StoreOutboxContract,
    StoreConcurrencyContract,
    StoreRepositoriesContract,
    StoreRoundTripContract,
    StoreUsageContract,
    StorePagesContract,
):
    """Behaviour every :class:`subkit.ports.Store` must have: every capability's mixin."""
