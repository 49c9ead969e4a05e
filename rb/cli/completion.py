"""Shell completion of runbook ids and execution ids (`rb --install-completion`).

Both are cheap by design, as a shell waits for them on every Tab: runbook ids
come from the `id:` line of each file under runbooks/, execution ids from a
bounded, read-only query of the store when it is an SQLite file that exists
(never creating one, never reaching a database server).
"""

from __future__ import annotations

import os
from pathlib import Path

RUNBOOK_DIR = Path("runbooks")
# rb.store.database's default, repeated so a Tab does not import the store (SQLAlchemy).
DEFAULT_STORE_URL = "sqlite:///.rb/rb.db"
SQLITE_FILE_URL = "sqlite:///"
MAX_IDS = 50


def complete_runbook(incomplete: str) -> list[str]:
    """Runbook ids under runbooks/ that start with `incomplete` (files complete as paths)."""
    if not RUNBOOK_DIR.is_dir():
        return []
    ids = (_id_line(p) for p in sorted(RUNBOOK_DIR.rglob("*.y*ml")))
    return sorted({i for i in ids if i and i.startswith(incomplete)})


def _id_line(path: Path) -> str | None:
    # A top-level `id:` line, read without a YAML parser: completion must be instant,
    # and an id that needs real YAML to read is still accepted when typed out.
    try:
        with path.open(encoding="utf-8") as f:
            for line in f:
                if line.startswith("id:"):
                    value = line[3:].split(" #", 1)[0].strip().strip("'\"")
                    return value or None
    except (OSError, UnicodeDecodeError):
        return None
    return None


def complete_execution_id(incomplete: str) -> list[str]:
    """'last' and the newest recorded execution ids starting with `incomplete`.

    Only an SQLite store is read (RB_DATABASE_URL, else the default): a
    database server could be slow or ask for a password mid-Tab.
    """
    found = ["last"] if "last".startswith(incomplete) else []
    url = os.environ.get("RB_DATABASE_URL") or DEFAULT_STORE_URL
    store = Path(url.removeprefix(SQLITE_FILE_URL))
    if not url.startswith(SQLITE_FILE_URL) or not store.is_file():
        return found
    import sqlite3
    from contextlib import closing

    try:
        with closing(sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=0.2)) as db:
            rows = db.execute(
                "SELECT id FROM runbook_executions WHERE id LIKE ? "
                "ORDER BY recorded_at DESC LIMIT ?",
                (incomplete.replace("%", "").replace("_", "") + "%", MAX_IDS),
            ).fetchall()
    except sqlite3.Error:
        return found
    return found + [str(row[0]) for row in rows]
