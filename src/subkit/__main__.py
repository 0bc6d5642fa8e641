"""``python -m subkit``: the ``subkit`` command line (see :mod:`subkit.entrypoints.cli`).

Example:
    >>> from subkit.entrypoints.cli import main
    >>> main(["customers", "show"])  # the customer id is missing: usage error
    2
"""

import sys

from subkit.entrypoints.cli import main

__all__: list[str] = []

if __name__ == "__main__":
    sys.exit(main())
