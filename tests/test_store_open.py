"""Opening a SQLite store: many first runs at once, and a folder that is not there."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .conftest import ROOT, run_rb

# Each process loads rb, says so, and opens the store when told: all at once.
OPEN = (
    "import sys; from rb.store.database import open_store; import alembic.command, sqlalchemy; "
    "print('ready', flush=True); sys.stdin.readline(); open_store(sys.argv[1])"
)


def test_concurrent_first_opens_of_a_fresh_sqlite_store_all_migrate(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/fresh.db"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN, url],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(16)
    ]
    for process in processes:
        assert process.stdout is not None and process.stdout.readline() == "ready\n"
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    outputs = [p.communicate()[0] for p in processes]
    assert [p.returncode for p in processes] == [0] * 16, "\n".join(o for o in outputs if o)
    listed = run_rb("runs", "list", "--db", url)
    assert listed.returncode == 0, listed.stderr


def test_a_sqlite_store_in_a_missing_folder_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "dir"
    result = run_rb("runs", "list", "--db", f"sqlite:///{missing}/rb.db")
    assert result.returncode == 1
    assert f"the folder {missing} does not exist" in result.stderr
    assert not (tmp_path / "no").exists()


def test_the_projects_own_rb_folder_is_made(tmp_path: Path) -> None:
    result = run_rb("runs", "list", cwd=tmp_path, env={"RB_DATABASE_URL": ""})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / ".rb" / "rb.db").is_file()
