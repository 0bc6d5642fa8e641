"""``python -m subkit``: the ``subkit`` command line (see :mod:`subkit.cli`).

Example:
    >>> from subkit.cli import main
    >>> main(["customers", "show"])  # the customer id is missing: usage error
    2
"""

import sys

from subkit.cli import main

__all__: list[str] = []

if __name__ == "__main__":
    sys.exit(main())
