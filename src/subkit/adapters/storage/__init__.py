"""Store adapters: in memory (tests, simulations) and SQL (SQLite, PostgreSQL).

Example:
    >>> from subkit.adapters.storage.memory import InMemoryStore
    >>> with InMemoryStore().begin() as uow:
    ...     uow.next_number("INV")
    1
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from subkit.errors import StateError

__all__ = ["UnitOfWorkBase"]


class UnitOfWorkBase:
    """The ``with`` protocol shared by subkit's units of work: commit on success, roll back on error.

    Subclasses set ``self._done = False`` and implement ``commit`` and ``rollback`` (which
    set ``_done``); an explicit ``commit()`` or ``rollback()`` inside the block ends it early.
    """

    _done: bool

    def commit(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def rollback(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._done:
            return
        if exc_type is None:
            self.commit()
        else:
            self.rollback()

    def _check_open(self) -> None:
        if self._done:
            raise StateError("this unit of work is already committed or rolled back; begin a new one")
