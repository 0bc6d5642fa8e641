"""The ``subkit`` command line: every subcommand, every exit status, on real SQLite files."""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from subkit.adapters.catalog_file import save_catalog
from subkit.adapters.storage.sql import SqlStore
from subkit.catalog.catalog import Catalog
from subkit.core.money import format_money, from_minor
from subkit.customer.customer import Customer
from subkit.entrypoints.cli import (
    COMMANDS,
    DEMO_DB,
    EXIT_BROKEN_PIPE,
    EXIT_CATALOG,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_STORE,
    EXIT_USAGE,
    Arg,
    Command,
    Context,
    main,
    open_store,
)
from subkit.entrypoints.demo import demo_catalog, run_demo
from subkit.invoice.invoice import CreditNote, Invoice
from subkit.subscription.model import Subscription

Capsys = pytest.CaptureFixture[str]


def run(capsys: Capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def read_all(db: Path) -> tuple[list[Customer], list[Subscription], list[Invoice], list[CreditNote]]:
    """The store's contents, read without the CLI."""
    with SqlStore(str(db)) as store, store.begin() as uow:
        return uow.find(Customer), uow.find(Subscription), uow.find(Invoice), uow.find(CreditNote)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo database the read-only tests share (nothing may write to it)."""
    db = tmp_path_factory.mktemp("cli") / "demo.sqlite"
    run_demo(db, customers=14, months=2, seed=5)
    return db


# --------------------------------------------------------------------------- help and usage
def test_top_level_help_lists_every_command(capsys: Capsys) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == EXIT_OK
    for name in {n.split()[0] for n in COMMANDS}:
        assert name in out
    assert "3 not found" in out and "5 database" in out


@pytest.mark.parametrize("name", [*COMMANDS, "catalog", "invoices", "customers"])
def test_every_command_has_help(name: str, capsys: Capsys) -> None:
    code, out, err = run(capsys, *name.split(), "--help")
    assert code == EXIT_OK
    assert out.startswith(f"usage: subkit {name}")
    assert err == ""


def test_bill_help_says_naive_dates_are_utc_midnight(capsys: Capsys) -> None:
    _, out, _ = run(capsys, "bill", "--help")
    assert "UTC midnight" in " ".join(out.split())


def test_version(capsys: Capsys) -> None:
    code, out, _ = run(capsys, "--version")
    assert code == EXIT_OK and out.startswith("subkit ")


def test_python_dash_m_subkit_help() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "subkit", "--help"], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "usage: subkit" in done.stdout and "demo" in done.stdout


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["frobnicate"],
        ["catalog"],
        ["bill"],
        ["bill", "--until", "next tuesday"],
        ["bill", "--until", "2026-13-01"],
        ["demo", "--customers", "-1"],
        ["demo", "--months", "0"],
        ["demo", "--seed", "x"],
        ["invoices", "show"],
        ["customers", "list", "--bogus"],
    ],
)
def test_usage_errors_exit_2_with_one_line(argv: list[str], capsys: Capsys) -> None:
    code, out, err = run(capsys, *argv)
    assert code == EXIT_USAGE
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert "error:" in err and "--help" in err


# --------------------------------------------------------------------------- demo
def test_demo_prints_the_database_then_the_summary(tmp_path: Path, capsys: Capsys) -> None:
    db = tmp_path / "d.sqlite"
    code, out, err = run(capsys, "demo", "--db", str(db), "--customers", "8", "--months", "1", "--seed", "3")
    assert code == EXIT_OK
    lines = out.splitlines()
    assert lines[0] == f"Database: {db.resolve()}"
    assert lines[1] == "subkit demo: 8 customers over 1 months from 2026-01-01 (seed 3)"
    assert "Month by month (amounts invoiced)" in out
    assert f" -m subkit customers list --db {db}" in out  # pytest is not the subkit script: python -m
    # stderr is not a TTY: a plain line at each tenth instead of a bar (31 days: 1, 4, 7... 31)
    assert err.splitlines() == [f"demo: {d}/31 days" for d in (1, 4, 7, 10, 13, 16, 19, 22, 25, 28, 31)]
    customers, _, invoices, _ = read_all(db)
    assert len(customers) == 8 and invoices


def test_demo_without_db_replaces_its_own_file(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    first = run(capsys, "demo", "--customers", "5", "--months", "1", "--no-progress")
    second = run(capsys, "demo", "--customers", "5", "--months", "1", "--no-progress")
    assert first[0] == second[0] == EXIT_OK
    assert first[1] == second[1]  # same seed, same bytes, and the old file did not get in the way
    assert first[1].splitlines()[0] == f"Database: {(tmp_path / DEMO_DB).resolve()}"
    assert len(read_all(tmp_path / DEMO_DB)[0]) == 5


def test_demo_refuses_an_existing_file(tmp_path: Path, capsys: Capsys) -> None:
    db = tmp_path / "mine.sqlite"
    db.write_bytes(b"precious")
    code, out, err = run(capsys, "demo", "--db", str(db), "--customers", "2", "--months", "1")
    assert (code, out) == (EXIT_USAGE, "")
    assert "already exists" in err and len(err.splitlines()) == 1
    assert db.read_bytes() == b"precious"


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_demo_progress_bar_on_a_tty_only_without_no_progress(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    tty = _Tty()
    monkeypatch.setattr(sys, "stderr", tty)
    assert main(["demo", "--db", str(tmp_path / "a.sqlite"), "--customers", "3", "--months", "1"]) == 0
    bar = tty.getvalue()
    assert "\r[" in bar and "31/31 days" in bar and "Simulated 31 days" in bar
    quiet = _Tty()
    monkeypatch.setattr(sys, "stderr", quiet)
    argv = ["demo", "--db", str(tmp_path / "b.sqlite"), "--customers", "3", "--months", "1", "--no-progress"]
    assert main(argv) == 0
    assert quiet.getvalue() == ""
    capsys.readouterr()


# --------------------------------------------------------------------------- bill
def test_bill_until_a_date_bills_what_is_due_once(tmp_path: Path, capsys: Capsys) -> None:
    db = tmp_path / "b.sqlite"
    run_demo(db, customers=6, months=1, seed=11)  # ends 2026-02-01
    before = len(read_all(db)[2])
    code, out, err = run(capsys, "bill", "--until", "2026-03-01", "--db", str(db))
    assert code == EXIT_OK, err
    assert out.startswith("Billed up to 2026-03-01T00:00:00+00:00: ")  # a bare date is UTC midnight
    invoices = read_all(db)[2]
    new = len(invoices) - before
    assert new > 0 and f", {new} invoices" in out
    assert max(i.created_at for i in invoices).isoformat() <= "2026-03-01T00:00:00+00:00"
    code, out, _ = run(capsys, "bill", "--until", "2026-03-01T01:00:00+01:00", "--db", str(db))
    assert code == EXIT_OK
    assert "0 actions, 0 invoices" in out  # the same instant in another zone: nothing twice
    assert len(read_all(db)[2]) == before + new


ODD_CATALOG = {
    "products": [{"id": "x", "name": "X"}],
    "plans": [
        {"id": "y", "product_id": "x", "name": "Y", "prices": {"USD": {"model": "flat", "flat_amount": "1"}}}
    ],
}


def test_bill_reports_subscriptions_it_cannot_bill_with_exit_1(tmp_path: Path, capsys: Capsys) -> None:
    db = tmp_path / "b.sqlite"
    run_demo(db, customers=4, months=1, seed=2)
    # A host wrote a catalog lacking every plan the subscriptions use straight into the store
    # (BillingEngine.set_catalog would refuse it).
    from subkit.services.engine import CatalogRecord

    with SqlStore(str(db)) as store, store.begin() as uow:
        rec = uow.get(CatalogRecord, "catalog")
        uow.update(rec.bumped(catalog=Catalog.model_validate(ODD_CATALOG)))
    before = len(read_all(db)[2])
    code, out, err = run(capsys, "bill", "--until", "2026-03-01", "--db", str(db))
    assert code == EXIT_FAILED
    assert "0 invoices" in out
    lines = err.splitlines()
    assert len(lines) == 4  # one line per subscription it could not bill
    assert all(line.startswith("subkit: error: [not_found] subscription sub_") for line in lines)
    assert all("in the catalog" in line for line in lines)
    assert len(read_all(db)[2]) == before


def test_catalog_load_refuses_to_drop_plans_subscriptions_use(tmp_path: Path, capsys: Capsys) -> None:
    db, file = tmp_path / "b.sqlite", tmp_path / "odd.json"
    run_demo(db, customers=4, months=1, seed=2)
    file.write_text(json.dumps(ODD_CATALOG))
    code, out, err = run(capsys, "catalog", "load", str(file), "--db", str(db))
    assert (code, out) == (EXIT_CATALOG, "")
    assert (
        "is partial: it drops plans ['api_calls', 'basic', 'enterprise', 'pro', 'storage'] "
        "and products ['api', 'app', 'storage']"
        in err
        and "--prune" in err
    )
    code, out, err = run(capsys, "catalog", "load", str(file), "--db", str(db), "--prune")
    assert (code, out) == (EXIT_CATALOG, "")
    assert "still uses plan 'basic' version 1" in err and "(publish new versions" in err
    code, out, _ = run(capsys, "catalog", "show", "--json", "--db", str(db))
    assert Catalog.from_json(out).plan("basic")  # the stored catalog is unchanged


def test_catalog_load_refuses_an_empty_file_and_an_edit_of_a_version_in_use(
    tmp_path: Path, capsys: Capsys
) -> None:
    db, file = tmp_path / "b.sqlite", tmp_path / "c.json"
    run_demo(db, customers=4, months=1, seed=2)
    file.write_text('{"products": [], "plans": []}')
    code, out, err = run(capsys, "catalog", "load", str(file), "--db", str(db))
    assert (code, out) == (EXIT_CATALOG, "")
    assert "holds no plans: nothing to load" in err
    edited = json.loads(demo_catalog().to_json())
    basic = next(p for p in edited["plans"] if p["id"] == "basic")
    basic["prices"]["USD"] = {"model": "flat", "flat_amount": "1089"}
    file.write_text(json.dumps(edited))
    code, out, err = run(capsys, "catalog", "load", str(file), "--db", str(db))
    assert (code, out) == (EXIT_CATALOG, "")
    assert "plan 'basic' version 1 is in use by subscription" in err and "as version 2" in err
    code, out, _ = run(capsys, "catalog", "show", "--json", "--db", str(db))
    assert Catalog.from_json(out) == demo_catalog()


def test_bill_on_a_missing_database_exits_5_and_creates_nothing(tmp_path: Path, capsys: Capsys) -> None:
    db = tmp_path / "nope.sqlite"
    code, out, err = run(capsys, "bill", "--until", "2026-01-01", "--db", str(db))
    assert (code, out) == (EXIT_STORE, "")
    assert "no database at" in err and len(err.splitlines()) == 1
    assert not db.exists()


# --------------------------------------------------------------------------- catalog
def test_catalog_load_then_show_round_trips(tmp_path: Path, capsys: Capsys) -> None:
    file, db = tmp_path / "catalog.json", tmp_path / "books.sqlite"
    save_catalog(demo_catalog(), file)
    code, out, _ = run(capsys, "catalog", "load", str(file), "--db", str(db))  # creates the database
    assert code == EXIT_OK
    assert out == f"Loaded {file}: 3 products, 5 plan versions, currencies USD, EUR, GBP, JPY\n"
    code, out, _ = run(capsys, "catalog", "show", "--json", "--db", str(db))
    assert code == EXIT_OK
    assert Catalog.from_json(out) == demo_catalog()
    code, out, _ = run(capsys, "catalog", "show", "--db", str(db))
    assert code == EXIT_OK
    assert "enterprise v1" in out
    assert "graduated up to 10: 40/unit + 200 flat; up to 50: 32/unit; beyond: 25/unit; setup fee 500" in out


def test_catalog_load_uses_the_default_db_in_the_working_directory(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert run(capsys, "customers", "list")[0] == EXIT_STORE  # no subkit.sqlite yet
    save_catalog(demo_catalog(), "c.json")
    assert run(capsys, "catalog", "load", "c.json")[0] == EXIT_OK
    assert (tmp_path / "subkit.sqlite").is_file()
    assert run(capsys, "customers", "list") == (EXIT_OK, "No customers.\n", "")
    assert run(capsys, "invoices", "list") == (EXIT_OK, "No invoices.\n", "")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        ("{not json", "not valid JSON"),
        ('{"currencies": ["USD"], "products": [{"id": "a", "name": "A"}], "plans": [{"id": "p", '
         '"product_id": "a", "name": "P", "prices": {"EUR": {"model": "flat", "flat_amount": "5"}}}]}',
         "no price in USD"),
        ('{"plans": [{"id": "p", "product_id": "a", "name": "P", "prices": {"USD": {"model": "flat", '
         '"price": "-5"}}}]}', "must be >= 0"),
    ],
)  # fmt: skip
def test_catalog_load_rejects_bad_files_with_exit_4(
    content: str | None, message: str, tmp_path: Path, capsys: Capsys
) -> None:
    file, db = tmp_path / "catalog.json", tmp_path / "books.sqlite"
    if content is not None:
        file.write_text(content)
    code, out, err = run(capsys, "catalog", "load", str(file), "--db", str(db))
    assert code == EXIT_CATALOG
    assert out == ""
    assert err.startswith("subkit: error: [invalid_catalog_file] ") and message in err
    assert len(err.splitlines()) == 1


def test_catalog_show_without_a_catalog_exits_3(tmp_path: Path, capsys: Capsys) -> None:
    db = tmp_path / "empty.sqlite"
    open_store(str(db), create=True).close()
    code, out, err = run(capsys, "catalog", "show", "--db", str(db))
    assert (code, out) == (EXIT_NOT_FOUND, "")
    assert "no catalog" in err and "catalog load" in err


# --------------------------------------------------------------------------- invoices
def test_invoices_list_shows_every_invoice(demo_db: Path, capsys: Capsys) -> None:
    _, _, invoices, _ = read_all(demo_db)
    code, out, _ = run(capsys, "invoices", "list", "--limit", "100", "--db", str(demo_db))
    assert code == EXIT_OK
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["Number", "ID", "Customer", "Status"]
    assert lines[-1] == f"{len(invoices)} invoices"
    rows = lines[1:-1]
    assert sorted(r.split()[0] for r in rows) == sorted(i.number or "" for i in invoices)
    first = min(invoices, key=lambda i: i.number or "")
    row = next(r for r in rows if r.startswith(f"{first.number} "))
    assert format_money(from_minor(first.total_minor, first.currency), "en_US") in row


def test_invoices_list_for_one_customer(demo_db: Path, capsys: Capsys) -> None:
    _, _, invoices, _ = read_all(demo_db)
    customer_id, count = Counter(i.customer_id for i in invoices).most_common(1)[0]
    code, out, _ = run(
        capsys, "invoices", "list", "--customer", customer_id, "--limit", "100", "--db", str(demo_db)
    )
    assert code == EXIT_OK
    rows = out.splitlines()[1:-1]
    assert len(rows) == count and all(r.split()[2] == customer_id for r in rows)


def test_invoices_list_for_an_unknown_customer_exits_3(demo_db: Path, capsys: Capsys) -> None:
    code, out, err = run(capsys, "invoices", "list", "--customer", "cus_nobody", "--db", str(demo_db))
    assert (code, out) == (EXIT_NOT_FOUND, "")
    assert "cus_nobody" in err


def test_invoices_show_by_id_and_by_number(demo_db: Path, capsys: Capsys) -> None:
    customers, _, invoices, _ = read_all(demo_db)
    inv = max(invoices, key=lambda i: len(i.lines))
    customer = next(c for c in customers if c.id == inv.customer_id)
    by_id = run(capsys, "invoices", "show", inv.id, "--db", str(demo_db))
    by_number = run(capsys, "invoices", "show", inv.number or "", "--db", str(demo_db))
    assert by_id == by_number
    code, out, _ = by_id
    assert code == EXIT_OK
    assert out.startswith(f"Invoice {inv.number} ({inv.id}), {inv.status.value}")
    assert f"Customer: {customer.name} ({customer.id})" in out
    total = next(line for line in out.splitlines() if line.strip().startswith("Total"))
    assert total.split(maxsplit=1)[1].strip() == format_money(inv.total, customer.locale).strip()
    assert len([ln for ln in out.splitlines() if ln.startswith("  ")]) >= len(inv.lines) + 3


def test_invoice_by_number_finds_every_numbered_invoice_and_nothing_else(demo_db: Path) -> None:
    # `invoices show NUMBER` uses the indexed lookup: on a real book it finds every number, nothing else.
    invoices = read_all(demo_db)[2]
    numbered = {i.number: i.id for i in invoices if i.number}
    assert len(numbered) == len([i for i in invoices if i.number]), "numbers are unique"
    with SqlStore(str(demo_db)) as store, store.begin() as uow:
        found = {n: getattr(uow.invoices.by_number(n), "id", None) for n in numbered}
        missing = [uow.invoices.by_number(n) for n in ("INV-999999", "", invoices[0].id)]
    assert found == numbered
    assert missing == [None, None, None]


def test_invoices_show_lists_credit_notes(demo_db: Path, capsys: Capsys) -> None:
    notes = read_all(demo_db)[3]
    assert notes, "the demo issues service credits on the 15th"
    note = notes[0]
    code, out, _ = run(capsys, "invoices", "show", note.invoice_id, "--db", str(demo_db))
    assert code == EXIT_OK
    assert f"Credit note {note.number} ({note.id})" in out


def test_invoices_show_unknown_exits_3(demo_db: Path, capsys: Capsys) -> None:
    code, out, err = run(capsys, "invoices", "show", "INV-999999", "--db", str(demo_db))
    assert (code, out) == (EXIT_NOT_FOUND, "")
    assert err == "subkit: error: [not_found] id: no invoice with id or number 'INV-999999' " \
        "(see 'subkit invoices list')\n"  # fmt: skip


# --------------------------------------------------------------------------- customers
def test_customers_list(demo_db: Path, capsys: Capsys) -> None:
    customers, subs, _, _ = read_all(demo_db)
    code, out, _ = run(capsys, "customers", "list", "--limit", "100", "--db", str(demo_db))
    assert code == EXIT_OK
    lines = out.splitlines()
    assert lines[-1] == f"{len(customers)} customers"
    newest_first = sorted(customers, key=lambda c: (c.created_at, c.id), reverse=True)
    assert [r.split()[0] for r in lines[1:-1]] == [c.id for c in newest_first]
    c = newest_first[0]
    row = lines[1]
    assert c.currency in row and c.timezone in row
    assert f"/{sum(1 for s in subs if s.customer_id == c.id)}" in row


def test_customers_show(demo_db: Path, capsys: Capsys) -> None:
    customers, subs, invoices, _ = read_all(demo_db)
    c = customers[0]
    code, out, _ = run(capsys, "customers", "show", c.id, "--db", str(demo_db))
    assert code == EXIT_OK
    assert out.startswith(f"{c.name} ({c.id})\n")
    for s in subs:
        if s.customer_id == c.id:
            assert s.id in out
    mine = [i for i in invoices if i.customer_id == c.id]
    billed = format_money(from_minor(sum(i.total_minor for i in mine), c.currency))
    assert f"Invoices: {len(mine)}, total {billed}" in out


def test_customers_show_unknown_exits_3(demo_db: Path, capsys: Capsys) -> None:
    code, out, err = run(capsys, "customers", "show", "cus_nobody", "--db", str(demo_db))
    assert (code, out) == (EXIT_NOT_FOUND, "")
    assert "cus_nobody" in err and len(err.splitlines()) == 1


# --------------------------------------------------------------------------- the database
def test_unopenable_databases_exit_5(tmp_path: Path, capsys: Capsys) -> None:
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not a database, just some bytes" * 100)
    empty_schema = tmp_path / "other.sqlite"
    sqlite3.connect(empty_schema).close()  # an SQLite file, but not subkit's
    cases = {
        str(garbage): "not a database",
        str(tmp_path): "is a directory",
        str(tmp_path / "missing.sqlite"): "no database at",
        "nosuchdriver://db": "cannot open",
        str(tmp_path / "no-such-dir" / "x.sqlite"): "no database at",
    }
    for db, message in cases.items():
        code, out, err = run(capsys, "customers", "list", "--db", db)
        assert (code, out) == (EXIT_STORE, ""), db
        assert err.startswith("subkit: error: [store_unavailable]") and message in err, err
        assert len(err.splitlines()) == 1
    code, _, err = run(capsys, "customers", "list", "--db", str(empty_schema))
    assert code == EXIT_STORE and "schema" in err


def test_demo_into_an_unwritable_place_exits_5(tmp_path: Path, capsys: Capsys) -> None:
    code, _, err = run(capsys, "demo", "--db", str(tmp_path / "no-such-dir" / "d.sqlite"), "--customers", "1")
    assert code == EXIT_STORE
    assert "[store_unavailable]" in err and len(err.splitlines()) == 1


# --------------------------------------------------------------------------- the registry
def test_a_new_command_is_one_function_and_one_entry(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    def count(args: object, ctx: Context) -> int:
        """Count the customers."""
        with ctx.store().begin() as uow:
            ctx.out(f"{len(uow.find(Customer)) * args.times}")  # type: ignore[attr-defined]
        return EXIT_OK

    monkeypatch.setitem(COMMANDS, "reports customers", Command(count, Arg("--times", type=int, default=1)))
    db = tmp_path / "r.sqlite"
    run_demo(db, customers=3, months=1, seed=1)
    assert run(capsys, "reports", "customers", "--times", "2", "--db", str(db)) == (EXIT_OK, "6\n", "")
    code, out, _ = run(capsys, "reports", "customers", "--help")
    assert code == EXIT_OK and "Count the customers." in out


@pytest.mark.parametrize(
    ("error", "status", "message"),
    [
        (KeyboardInterrupt(), EXIT_INTERRUPTED, "subkit: interrupted"),
        (BrokenPipeError(), EXIT_BROKEN_PIPE, ""),
        (sqlite3.OperationalError("disk I/O error"), EXIT_STORE, "database error: disk I/O error"),
    ],
)
def test_interruptions_and_database_failures_mid_command(
    error: BaseException, status: int, message: str, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(args: object, ctx: Context) -> int:
        """Fail."""
        raise error

    monkeypatch.setitem(COMMANDS, "boom", Command(boom, db=None))
    code, out, err = run(capsys, "boom")
    assert (code, out) == (status, "")
    assert message in err and len(err.splitlines()) <= 1


def test_invoices_show_renders_the_invoice_as_its_customer_reads_it(
    demo_db: Path, capsys: Capsys, tmp_path: Path
) -> None:
    invoices = read_all(demo_db)[2]
    converted = next(i for i in invoices if i.fx_rate is not None and i.number)
    code, out, _ = run(
        capsys, "invoices", "show", converted.number or "", "--format", "text", "--db", str(demo_db)
    )
    assert code == EXIT_OK
    assert out.splitlines()[0].endswith(converted.number or "")  # "Invoice INV-...", "Rechnung INV-..."
    assert f"1 {converted.currency} = " in out and "USD" in out  # the rate locked to the demo's USD books
    code, out, _ = run(capsys, "invoices", "show", converted.id, "--format", "html", "--db", str(demo_db))
    assert code == EXIT_OK and out.startswith("<!DOCTYPE html>")
    pdf = tmp_path / "invoice.pdf"
    code, out, _ = run(
        capsys, "invoices", "show", converted.id, "--format", "pdf", "--out", str(pdf), "--db", str(demo_db)
    )
    assert (code, out) == (EXIT_OK, f"wrote {pdf}\n") and pdf.read_bytes().startswith(b"%PDF-")
    code, out, err = run(capsys, "invoices", "show", converted.id, "--format", "pdf", "--db", str(demo_db))
    assert code != EXIT_OK and "--out FILE" in err
