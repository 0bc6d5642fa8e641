"""``python -m bench``: run every benchmark module and print one table."""

from bench.run import main

raise SystemExit(main())
