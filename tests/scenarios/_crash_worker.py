"""A billing worker run in a child process by the crash and multi-worker tests.

``work(url, steps, batch_size)`` opens ``SqlStore(url)``, prints ``ready``, runs
``engine.advance(step)`` for each step (ISO instants), prints ``done <json report>``
and exits. The tests SIGKILL it at random moments and start it again: nothing here
remembers anything between runs; the store alone carries the state.

Ids: ``{prefix}_{boot}{n}``, where ``boot`` is random per process start, so a restarted
worker never reuses an id a killed one may have committed. Exactly-once does not rest
on ids: the claims ``cycle:{sub}:{n}`` and ``charge:...`` do.

The module imports nothing from the tests (the child process has only ``src`` on its
path and this directory); run it as::

    python -c "import sys; sys.path.insert(0, DIR); import _crash_worker; _crash_worker.main()" \\
        URL [--batch-size=N] [--schema=S] [--wait-for-go] STEP...
"""

from __future__ import annotations

import itertools
import json
import sys
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from subkit.adapters.storage.sql import SqlStore, make_engine
from subkit.core.clock import TestClock
from subkit.services.engine import BillingConfig, BillingEngine

__all__ = ["command", "main", "restart_safe_ids", "work"]


def restart_safe_ids() -> Callable[[str], str]:
    """Readable ids, sequential within a process, distinct across restarts."""
    boot = uuid.uuid4().hex[:10]
    counter = itertools.count(1)
    return lambda prefix: f"{prefix}_{boot}{next(counter):07d}"


def work(
    url: str,
    steps: Sequence[datetime],
    *,
    batch_size: int,
    schema: str | None = None,
    wait_for_go: bool = False,
) -> dict[str, int]:
    """Advance the store's subscriptions through ``steps``; the summed report as a dict.

    With ``schema`` (PostgreSQL) the connections use that ``search_path``. With
    ``wait_for_go`` the worker reads one line from stdin after ``ready``, so a parent
    can start several workers and release them at the same moment.
    """
    if schema is None:
        store = SqlStore(url)
        engine_to_dispose = None
    else:
        engine_to_dispose = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
        store = SqlStore(engine_to_dispose, create=False)
    try:
        engine = BillingEngine(
            store,
            TestClock(steps[0]),
            config=BillingConfig(batch_size=batch_size),
            ids=restart_safe_ids(),
        )
        print("ready", flush=True)
        if wait_for_go:
            sys.stdin.readline()
        totals = {"actions": 0, "invoices": 0, "conflicts": 0, "errors": 0}
        for step in steps:
            report = engine.advance(step)
            totals["actions"] += report.actions
            totals["invoices"] += report.invoices
            totals["conflicts"] += report.conflicts
            totals["errors"] += len(report.errors)
            if report.errors:
                print(f"errors: {report.errors[:5]}", file=sys.stderr, flush=True)
        return totals
    finally:
        store.close()
        if engine_to_dispose is not None:
            engine_to_dispose.dispose()


def command(
    directory: str,
    url: str,
    steps: Sequence[datetime],
    *,
    batch_size: int,
    schema: str | None = None,
    wait_for_go: bool = False,
) -> list[str]:
    """The argv (after ``sys.executable``) that runs :func:`main` in a child process."""
    code = f"import sys; sys.path.insert(0, {directory!r}); import _crash_worker; _crash_worker.main()"
    argv = ["-c", code]
    argv += [url, f"--batch-size={batch_size}"]
    if schema is not None:
        argv.append(f"--schema={schema}")
    if wait_for_go:
        argv.append("--wait-for-go")
    return argv + [s.isoformat() for s in steps]


def main(argv: Sequence[str] | None = None) -> None:
    """Command-line entry: ``URL [--batch-size=N] [--schema=S] [--wait-for-go] STEP...``."""
    args = list(sys.argv[1:] if argv is None else argv)
    url = args.pop(0)
    batch_size, schema, wait_for_go = 1000, None, False
    steps = []
    for a in args:
        if a.startswith("--batch-size="):
            batch_size = int(a.split("=", 1)[1])
        elif a.startswith("--schema="):
            schema = a.split("=", 1)[1]
        elif a == "--wait-for-go":
            wait_for_go = True
        else:
            steps.append(datetime.fromisoformat(a).astimezone(UTC))
    totals = work(url, steps, batch_size=batch_size, schema=schema, wait_for_go=wait_for_go)
    print("done " + json.dumps(totals), flush=True)
