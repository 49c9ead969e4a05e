"""get_run reads through the driver: every value exactly as SQLAlchemy reads it."""

from __future__ import annotations

from rb.service.request import Recording
from rb.service.runbooks import load_valid_runbook
from rb.service.runner import execute, fixture_request
from rb.store.database import Store, ensure_schema
from rb.store.queries import get_run, latest_logs
from rb.store.records import Execution
from rb.store.tables import exchanges, executions, step_logs
from rb.world.fixture_format import load_fixture

from .conftest import ROOT


def read_with_sqlalchemy(store: Store, run_id: str) -> Execution:
    """The run as SQLAlchemy's own statements and result processing give it."""
    with store.begin() as conn:
        row = conn.execute(executions.select().where(executions.c.id == run_id)).one()
        steps = conn.execute(
            step_logs.select().where(step_logs.c.execution_id == run_id).order_by(step_logs.c.seq)
        ).all()
        calls = conn.execute(
            exchanges.select().where(exchanges.c.execution_id == run_id).order_by(exchanges.c.seq)
        ).all()
    return Execution.from_rows(
        row._mapping,
        latest_logs(tuple(s._mapping for s in steps)),
        tuple(c._mapping for c in calls),
    )


def test_get_run_reads_what_sqlalchemy_reads(store_url: str) -> None:
    store = Store(store_url)
    try:
        ensure_schema(store)
        runs = []
        # Steps that succeed, fail and are skipped; HTTP, SQL and command exchanges.
        for name in ["database-failover-check", "canary-deployment", "tls-certificate-sweep"]:
            book = load_valid_runbook(str(ROOT / "runbooks" / f"{name}.yaml"))
            fixture = f"fixtures/{name}.yaml"
            world = load_fixture(ROOT / fixture)
            request = fixture_request(book, world, recording=Recording(store=store))
            runs.append(execute(request).execution_id)
        for run_id in runs:
            assert run_id is not None
            expected = read_with_sqlalchemy(store, run_id)
            assert get_run(store, run_id) == expected
            assert get_run(store, run_id).to_json() == expected.to_json()
            shown = get_run(store, run_id, with_exchanges=False)
            assert shown is not None and shown.steps == expected.steps
        assert get_run(store, "no-such-run") is None
    finally:
        store.dispose()
