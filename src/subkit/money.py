"""``subkit.money``: the money module at the top level, which is still the ``money()`` constructor.

Before, ``subkit.money`` was only the function, which hid the module: ``import subkit.money``
failed and ``from subkit.money import allocate`` could not work. Now ``subkit.money`` is this
module, a re-export of :mod:`subkit.core.money`, and calling it calls
:func:`subkit.core.money.money`, so existing code keeps working unchanged:

Example:
    >>> import subkit
    >>> subkit.money("10.005", "EUR")                 # as before: the constructor
    Money('10.01', 'EUR')
    >>> from subkit.money import allocate, to_minor   # and now the module
    >>> to_minor(subkit.money("12.34", "USD"))
    1234
    >>> [str(p.amount) for p in allocate(subkit.money("1", "USD"), [1, 2])]
    ['0.33', '0.67']

For type checkers ``subkit.money`` stays the function (the package binds that name); import
the module's other names with ``from subkit.money import ...`` or from :mod:`subkit.core.money`.
"""

from __future__ import annotations

import sys
import types

from subkit.core import money as _core
from subkit.core.money import *  # noqa: F403 - this module is subkit.core.money, at the top level
from subkit.core.money import Money, Rounding, money

__all__ = list(_core.__all__)


class _CallableModule(types.ModuleType):
    """This module's class: calling the module is calling :func:`subkit.core.money.money`."""

    def __call__(self, amount: object, currency: str, rounding: Rounding = Rounding.HALF_UP) -> Money:
        return money(amount, currency, rounding)


sys.modules[__name__].__class__ = _CallableModule
