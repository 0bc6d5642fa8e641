"""The public API: ``__all__`` is exact, and every public name is documented with an example."""

import importlib
import inspect
import pkgutil

import subkit

MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(subkit.__path__, "subkit.")
    if not m.name.split(".")[-1].startswith("_")
)


def test_all_lists_exactly_the_public_top_level_names() -> None:
    # a module is not a public name, unless it is callable (subkit.money: a module and the constructor)
    public = {
        n
        for n, obj in vars(subkit).items()
        if not n.startswith("_") and (not inspect.ismodule(obj) or callable(obj))
    }
    lazy = {"SqlStore", "make_engine"}  # optional extra: loaded on first use
    assert set(subkit.__all__) - {"__version__"} == public | lazy
    assert len(subkit.__all__) == len(set(subkit.__all__))
    assert {"Page", "PaymentCollector", "BillingEngine"} <= set(subkit.__all__)  # lists answer a Page
    for name in subkit.__all__:
        assert hasattr(subkit, name), name


def test_every_module_declares_all_and_exports_exist() -> None:
    for name in MODULES:
        mod = importlib.import_module(name)
        if name.endswith("__main__"):
            continue
        assert hasattr(mod, "__all__") or mod.__name__ in ("subkit.adapters.storage",), (
            f"{name} has no __all__"
        )
        for export in getattr(mod, "__all__", []):
            assert hasattr(mod, export), f"{name}.__all__ names missing {export}"


def test_public_names_have_docstrings() -> None:
    missing = []
    for name in MODULES:
        mod = importlib.import_module(name)
        assert mod.__doc__, f"module {name} has no docstring"
        for export in getattr(mod, "__all__", []):
            obj = getattr(mod, export)
            if (
                (inspect.isclass(obj) or inspect.isfunction(obj))
                and obj.__module__ == name
                and not obj.__doc__
            ):
                missing.append(f"{name}.{export}")
    assert missing == []


def test_top_level_classes_and_functions_show_an_example() -> None:
    # Every public class or function either has an example itself or lives in a module whose
    # docstring shows it in use.
    without = []
    for name in set(subkit.__all__) - {"Money"}:  # Money is py-moneyed's class, documented there
        obj = getattr(subkit, name)
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        doc = inspect.getdoc(obj) or ""
        mod_doc = inspect.getmodule(obj).__doc__ or ""  # type: ignore[union-attr]
        if ">>>" not in doc and not (">>>" in mod_doc and name in mod_doc):
            without.append(name)
    assert without == [], f"no example for: {without}"


def test_version_comes_from_the_package_metadata() -> None:
    from importlib.metadata import version

    assert subkit.__version__ == version("subkit")


def test_optional_names_load_on_first_use_or_say_which_extra_to_install() -> None:
    import subprocess
    import sys

    from subkit.adapters.storage.sql import SqlStore

    assert subkit.SqlStore is SqlStore
    # a Python where SQLAlchemy cannot be imported gets the install hint
    code = (
        "import sys; sys.modules['sqlalchemy'] = None\n"
        "import subkit\n"
        "try:\n    subkit.SqlStore\nexcept ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "subkit.SqlStore needs the 'sql' extra: pip install 'subkit[sql]'"
