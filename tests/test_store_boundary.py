"""Only core/store touches SQL. import-linter forbids importing sqlite3 elsewhere; this
reads the code itself, for what an import contract cannot see: a connection reached
through an object (``ledger._db``), ``.execute`` calls, or a ``sqlite3.Connection`` hint
written as a string."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LAYERS = ("app", "evaluation", "core", "models", "gpu", "bench")
SQL_CALLS = {"execute", "executemany", "executescript", "cursor"}


def _outside_store() -> list[Path]:
    files = [p for layer in LAYERS for p in (REPO / layer).rglob("*.py")]
    store = REPO / "core" / "store"
    return [p for p in files if store not in p.parents]


def _offences(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        where = f"{path}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Attribute) and node.attr in SQL_CALLS | {"_db"}:
            found.append(f"{where}: .{node.attr}")
        elif isinstance(node, ast.Name) and node.id == "sqlite3":
            found.append(f"{where}: sqlite3")
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and ("sqlite3.Connection" in node.value or "sqlite3.Cursor" in node.value)
        ):
            found.append(f"{where}: a sqlite3 type in a string")
    return found


def test_no_sql_or_connection_outside_the_store() -> None:
    files = _outside_store()
    assert len(files) > 50  # the walk found the code
    offences = [o for path in files for o in _offences(path)]
    assert offences == []


def test_the_check_sees_what_it_forbids(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "def f(ledger: 'sqlite3.Connection') -> None:\n    ledger._db.execute('SELECT 1')\n",
        encoding="utf-8",
    )
    assert len(_offences(sample)) == 3


def _service_internals(path: Path) -> list[str]:
    """``.store`` / ``.runtime`` reached on anything: the ledger and the runtimes are the
    evaluation layer's and the tests'; the GUI, the CLI and the bench scripts use verbs."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return [
        f"{path}:{node.lineno}: .{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in {"store", "runtime"}
    ]


def test_app_and_bench_use_the_service_verbs_only() -> None:
    files = [p for layer in ("app", "bench") for p in (REPO / layer).rglob("*.py")]
    offences = [line for path in files for line in _service_internals(path)]
    assert files and not offences, "\n".join(offences)
