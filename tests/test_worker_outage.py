"""PostgreSQL goes away while a worker runs an execution: nothing is lost, no
finished step runs twice (a private cluster: the shared one is not touched)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rb.service.runs import upgrade_store
from rb.store.database import open_store
from rb.store.queries import load_run

from .test_worker import CHAIN
from .worker_helpers import (
    RUN_WAIT,
    private_postgres,
    queue,
    request_count,
    saw,
    worker_pool,
    write_runbook,
)


def test_a_run_cut_off_by_a_postgresql_outage_finishes_once_it_is_back(
    tmp_path: Path, http_server: Any
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    relative = write_runbook(project, "chain", CHAIN.replace("URL", http_server.url("")))
    with private_postgres() as cluster:
        upgrade_store(db=cluster.url)
        with worker_pool(cluster.url, project) as workers:
            worker = workers.start("w1", grace=1)
            execution_id = queue(cluster.url, project, relative)
            assert http_server.state.slow_started.wait(RUN_WAIT), "the run never reached /slow"
            cluster.stop()  # the run is in its third step; its first two are recorded
            http_server.state.release.set()  # the step ends while nothing can be recorded
            worker.wait_for_line("PostgreSQL is unreachable", timeout=RUN_WAIT)
            cluster.start()
            saw(worker, f"execution {execution_id}: success")
            store = open_store(cluster.url)
            try:
                run = load_run(store, execution_id)
            finally:
                store.dispose()
    assert run.status == "success"
    # The recorded steps were not sent again; the one cut off was, once more.
    assert request_count(http_server, "/echo/first") == 1
    assert request_count(http_server, "/echo/second") == 1
    assert request_count(http_server, "/slow") == 2
    assert request_count(http_server, "/echo/last") == 1
    assert [a["status"] for a in run.attempts][-1] == "success"
