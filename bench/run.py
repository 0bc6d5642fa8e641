"""Run every ``bench/bench_*.py`` module at the given sizes and print one table.

Usage (from the repository root)::

    python -m bench --sizes 1000,10000,100000
    python bench/run.py --size 10000 --only billing

Each module exposes ``run(size) -> list[Row]`` and may set ``MAX_SIZE``: larger sizes
are skipped for it (and said so), so one ``--sizes`` list can serve a cheap benchmark
up to 1M and an expensive one up to 100k. A module with ``targets(rows) -> list[str]``
says under the table which of its targets its rows met. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import pkgutil
import platform
import sys
from pathlib import Path
from types import ModuleType

if __package__ in (None, ""):  # run as a script: make the ``bench`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import Row

HEADER = (
    "scenario",
    "size",
    "items",
    "subkit items/s",
    "us/item",
    "baseline items/s",
    "ratio (time)",
    "held/size",
    "peak RSS",
)


def modules(only: list[str] | None = None) -> list[ModuleType]:
    """Every ``bench_*`` module of the package (the registry), optionally filtered by name."""
    pkg_dir = Path(__file__).resolve().parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(pkg_dir)]) if m.name.startswith("bench_"))
    if only:
        names = [n for n in names if any(o in n for o in only)]
    return [importlib.import_module(f"bench.{n}") for n in names]


def parse_sizes(text: str) -> list[int]:
    """``"1000,10k,1M"`` -> ``[1000, 10000, 1000000]``."""
    out = []
    for part in text.split(","):
        p = part.strip().lower().replace("_", "")
        mult = 1
        if p.endswith("k"):
            mult, p = 1000, p[:-1]
        elif p.endswith("m"):
            mult, p = 1_000_000, p[:-1]
        out.append(int(p) * mult)
    return out


def fmt_rate(x: float) -> str:
    return f"{x:,.0f}"


def table(rows: list[Row]) -> str:
    """The rows as one fixed-width text table."""
    cells = [HEADER] + [
        (
            r.scenario,
            f"{r.size:,}",
            f"{r.items:,}",
            fmt_rate(r.lib_rate),
            f"{r.micros_per_item:.1f}",
            fmt_rate(r.base_rate),
            f"{r.ratio:.1f}x",
            "-" if r.held_bytes is None else f"{r.held_bytes / r.size / 1024:.2f} KB",
            "-" if r.peak_bytes is None else f"{r.peak_bytes / 2**20:,.0f} MB",
        )
        for r in rows
    ]
    widths = [max(len(c[i]) for c in cells) for i in range(len(HEADER))]
    lines = []
    for n, c in enumerate(cells):
        lines.append(
            "  ".join(
                v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(c, widths, strict=True))
            )
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=str, help="one size, e.g. 10000 or 10k")
    ap.add_argument("--sizes", type=str, help="comma-separated sizes, e.g. 1000,10000,100000")
    ap.add_argument("--only", action="append", help="run only modules whose name contains this (repeatable)")
    args = ap.parse_args(argv)
    sizes = parse_sizes(args.sizes or args.size or "1000,10000")
    rows: list[Row] = []
    skipped: list[str] = []
    checks: list[tuple[ModuleType, list[Row]]] = []
    for mod in modules(args.only):
        checks.append((mod, []))
        cap = getattr(mod, "MAX_SIZE", None)
        for size in sizes:
            if cap is not None and size > cap:
                skipped.append(f"{mod.__name__} at {size:,} (MAX_SIZE {cap:,})")
                continue
            gc.collect()
            got = mod.run(size)
            rows.extend(got)
            checks[-1][1].extend(got)
            for r in got:
                print(
                    f"  done: {r.scenario} size={r.size:,} ({r.lib_seconds:.2f}s vs {r.base_seconds:.2f}s)",
                    file=sys.stderr,
                    flush=True,
                )
    print(f"python {platform.python_version()} on {platform.machine()}, {platform.system()}")
    print(table(rows))
    for r in rows:
        if r.note:
            print(f"note: {r.scenario} @ {r.size:,}: {r.note}")
    for s in skipped:
        print(f"skipped: {s}")
    lines = [line for mod, got in checks if got and hasattr(mod, "targets") for line in mod.targets(got)]
    if lines:
        print("\ntargets (issue 9):")
        for line in lines:
            print(f"  {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
