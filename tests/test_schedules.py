"""Scheduled runbooks: the `schedule:` block, `rb schedules list`, and the deferrer.

The deferrer is driven at chosen times (`ScheduleDeferrer.tick(at)`) against a
real PostgreSQL queue, so a fire is tested without waiting for the clock.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from rb.loader import load_text
from rb.model import Runbook
from rb.policies import Schedule
from rb.service.queue_app import DEFAULT_QUEUE, SCHEDULED_TASK, queue_app

from .conftest import diagnose, run_rb


def runbook_text(schedule: str, rid: str = "nightly", parameters: str = "") -> str:
    return (
        f'id: {rid}\nname: Nightly\nversion: "1"\n{parameters}'
        f"schedule:\n{schedule}"
        "steps:\n  - {id: a, type: wait, inputs: {seconds: 1}}\n"
    )


def runbook(schedule: str, rid: str = "nightly") -> Runbook:
    loaded = load_text(runbook_text(schedule, rid), f"{rid}.yaml")
    assert loaded.runbook is not None, loaded.diagnostics
    return loaded.runbook


def epoch(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp())


# The model and rb validate ---------------------------------------------------


def test_a_schedule_block_becomes_the_runbooks_schedule_with_defaults() -> None:
    full = runbook(
        '  cron: "*/15 * * * *"\n  timezone: Europe/Berlin\n  params: {region: eu-west}\n'
        "  missed: all\n  catch_up: 30m\n"
    )
    assert full.schedule == Schedule(
        cron="*/15 * * * *",
        timezone="Europe/Berlin",
        params={"region": "eu-west"},
        missed="all",
        catch_up="30m",
    )
    assert full.schedule.catch_up_seconds == 1800
    bare = runbook('  cron: "0 6 * * *"\n')
    assert bare.schedule == Schedule(cron="0 6 * * *")
    assert (bare.schedule.timezone, bare.schedule.missed, bare.schedule.catch_up_seconds) == (
        "UTC",
        "skip",
        3600,
    )


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("30m", 1800), ("24h", 86400), ("7d", 604800), ("1.5h", None), ("0m", None)],
)
def test_catch_up_durations(text: str, seconds: int | None) -> None:
    assert Schedule(cron="* * * * *", catch_up=text).catch_up_seconds == seconds


@pytest.mark.parametrize(
    ("line", "code", "col", "message"),
    [
        ('  cron: "0 6 * *"', "RB076", 9, "cron '0 6 * *' has 4 fields; write five"),
        ('  cron: "0 6 * * * *"', "RB076", 9, "cron '0 6 * * * *' has 6 fields; write five"),
        ('  cron: "0 6 31 2 *"', "RB076", 9, "cron '0 6 31 2 *' never fires"),
        ('  cron: "0 6 * * *"\n  timezone: Mars/Olympus', "RB077", 13, "unknown time zone"),
        ('  cron: "0 6 * * *"\n  catch_up: 1.5h', "RB079", 13, "catch_up '1.5h' is not a duration"),
    ],
)
def test_a_bad_schedule_is_a_diagnostic_at_the_value(
    line: str, code: str, col: int, message: str
) -> None:
    found = diagnose(runbook_text(line + "\n"))
    last_line = 4 + line.count("\n") + 1
    assert [(d.code, d.line, d.col) for d in found] == [(code, last_line, col)]
    assert found[0].message.startswith(message)


def test_a_bad_missed_policy_is_a_format_error() -> None:
    found = diagnose(runbook_text('  cron: "0 6 * * *"\n  missed: never\n'))
    assert [(d.code, d.line, d.col) for d in found] == [("RB013", 6, 11)]


def test_schedule_params_are_checked_like_param_values() -> None:
    parameters = (
        "parameters:\n  region: {type: string}\n  count: {type: integer}\n"
        "  dry_run: {type: boolean, default: true}\n"
    )
    text = runbook_text(
        '  cron: "0 6 * * *"\n  params: {count: many, regoin: eu}\n', parameters=parameters
    )
    found = sorted((d.line, d.col, d.code, d.message) for d in diagnose(text) if d.code == "RB078")
    assert found == [
        (
            10,
            3,
            "RB078",
            "the schedule does not pass required parameter 'region'; add it to schedule.params",
        ),
        (
            10,
            19,
            "RB078",
            "scheduled value of parameter 'count' must be a whole number, not text 'many'",
        ),
        (
            10,
            25,
            "RB078",
            "the schedule passes 'regoin', which is not a parameter of the runbook; "
            "did you mean 'region'?",
        ),
    ]


def test_a_schedule_without_params_points_at_the_block_when_one_is_required() -> None:
    text = runbook_text(
        '  cron: "0 6 * * *"\n', parameters="parameters:\n  region: {type: string}\n"
    )
    found = [(d.code, d.line, d.col) for d in diagnose(text) if d.code == "RB078"]
    assert found == [("RB078", 6, 1)]


def test_a_valid_schedule_has_no_diagnostics_and_uses_its_parameters() -> None:
    text = runbook_text(
        '  cron: "*/15 * * * *"\n  timezone: Europe/Berlin\n  params: {region: eu}\n'
        "  missed: latest\n  catch_up: 24h\n",
        parameters="parameters:\n  region: {type: string}\n",
    )
    assert [d.code for d in diagnose(text)] == ["RB061"]  # passing a parameter is not reading it


# rb schedules list ----------------------------------------------------------------


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    runbooks = tmp_path / "runbooks"
    (runbooks / "ops").mkdir(parents=True)
    (runbooks / "ops" / "report.yaml").write_text(
        runbook_text(
            '  cron: "0 6 * * *"\n  timezone: Europe/Berlin\n  missed: latest\n',
            rid="morning-report",
        )
    )
    (runbooks / "sweep.yaml").write_text(runbook_text('  cron: "*/30 * * * *"\n', rid="sweep"))
    (runbooks / "plain.yaml").write_text(
        'id: plain\nname: P\nversion: "1"\nsteps:\n  - {id: a, type: wait, inputs: {seconds: 1}}\n'
    )
    return runbooks


def test_schedules_list_shows_next_fires_across_the_march_dst_change(folder: Path) -> None:
    # Europe/Berlin moves to summer time on Sunday 2027-03-28: 06:00 local is 05:00 UTC
    # before and 04:00 UTC after.
    done = run_rb("schedules", "list", "--at", "2027-03-26T12:00:00Z", cwd=folder.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "RUNBOOK         CRON          TIMEZONE       MISSED     NEXT FIRES",
        "morning-report  0 6 * * *     Europe/Berlin  latest/1h  2027-03-27 06:00 CET  "
        "(2027-03-27 05:00 UTC)",
        "                                                        2027-03-28 06:00 CEST  "
        "(2027-03-28 04:00 UTC)",
        "                                                        2027-03-29 06:00 CEST  "
        "(2027-03-29 04:00 UTC)",
        "sweep           */30 * * * *  UTC            skip       2027-03-26 12:30 UTC  "
        "(2027-03-26 12:30 UTC)",
        "                                                        2027-03-26 13:00 UTC  "
        "(2027-03-26 13:00 UTC)",
        "                                                        2027-03-26 13:30 UTC  "
        "(2027-03-26 13:30 UTC)",
    ]


def test_schedules_list_as_json(folder: Path) -> None:
    done = run_rb(
        "schedules",
        "list",
        "--runbooks",
        str(folder),
        "--format",
        "json",
        "--count",
        "2",
        "--at",
        "2027-03-27T06:00:00+01:00",
    )
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["at"] == "2027-03-27T05:00:00Z"
    assert document["errors"] == []
    report = document["schedules"][0]
    assert {k: v for k, v in report.items() if k != "next"} == {
        "runbook": "morning-report",
        "path": "ops/report.yaml",
        "cron": "0 6 * * *",
        "timezone": "Europe/Berlin",
        "params": {},
        "missed": "latest",
        "catch_up": "1h",
    }
    assert report["next"] == [
        {"local": "2027-03-28T06:00:00+02:00", "utc": "2027-03-28T04:00:00Z"},
        {"local": "2027-03-29T06:00:00+02:00", "utc": "2027-03-29T04:00:00Z"},
    ]
    assert [s["runbook"] for s in document["schedules"]] == ["morning-report", "sweep"]


def test_schedules_list_reports_a_broken_schedule_and_exits_2(folder: Path) -> None:
    (folder / "broken.yaml").write_text(
        runbook_text('  cron: "0 6 * * *"\n  timezone: Berlin\n', rid="broken")
    )
    done = run_rb("schedules", "list", "--runbooks", str(folder), "--at", "2027-03-26T12:00:00Z")
    assert done.returncode == 2
    assert "morning-report" in done.stdout and "broken" not in done.stdout
    assert done.stderr.splitlines() == [
        f"{folder / 'broken.yaml'}:6:13: error RB077 unknown time zone 'Berlin'; use an IANA "
        "name such as UTC, Europe/Berlin or America/New_York",
        "1 scheduled runbook with errors is not scheduled; fix the errors (rb validate) and "
        "reload the workers",
    ]


def test_schedules_list_refuses_a_bad_at(folder: Path) -> None:
    done = run_rb("schedules", "list", "--runbooks", str(folder), "--at", "tomorrow")
    assert done.returncode == 2
    assert "--at 'tomorrow' is not an ISO time" in done.stderr


# The deferrer, on a real queue ------------------------------------------------------


def jobs(url: str) -> list[dict[str, Any]]:
    import psycopg
    from psycopg.rows import dict_row

    from rb.service.queue_app import conninfo

    with psycopg.connect(conninfo(url), row_factory=dict_row) as conn:
        return conn.execute(
            "SELECT task_name, queue_name, args FROM procrastinate_jobs ORDER BY id"
        ).fetchall()


def scheduled(*pairs: tuple[str, str]) -> list[tuple[str, Runbook]]:
    return [(f"{rid}.yaml", runbook(block, rid)) for rid, block in pairs]


async def ticking(url: str, schedules: list[tuple[str, Runbook]], *times: str) -> None:
    """Open a queue, build a deferrer for `schedules`, and tick it at each time."""
    from rb.worker.schedules import ScheduleDeferrer, schedule_registry

    app = queue_app(url)
    async with app.open_async():
        deferrer = ScheduleDeferrer(app, schedule_registry(app, schedules))
        for at in times:
            await deferrer.tick(epoch(at))


def job(path: str, at: str) -> dict[str, Any]:
    return {
        "task_name": SCHEDULED_TASK,
        "queue_name": DEFAULT_QUEUE,
        "args": {"runbook": path, "timestamp": epoch(at)},
    }


HOURLY = '  cron: "0 * * * *"\n'


def test_a_tick_at_a_fire_defers_one_job_and_a_second_tick_none(queue_url: str) -> None:
    schedules = scheduled(("nightly", HOURLY))
    asyncio.run(ticking(queue_url, schedules, "2027-03-26T12:00:05Z", "2027-03-26T12:00:30Z"))
    assert jobs(queue_url) == [job("nightly.yaml", "2027-03-26T12:00:00Z")]


def test_the_fire_time_is_read_in_the_schedules_time_zone(queue_url: str) -> None:
    schedules = scheduled(("report", '  cron: "0 6 * * *"\n  timezone: Europe/Berlin\n'))
    # 06:00 in Berlin is 04:00 UTC on the first day of summer time; 06:00 UTC is no fire.
    asyncio.run(ticking(queue_url, schedules, "2027-03-28T06:00:10Z", "2027-03-28T04:00:10Z"))
    assert jobs(queue_url) == [job("report.yaml", "2027-03-28T04:00:00Z")]


def test_two_workers_ticking_at_once_defer_one_job_per_fire(queue_url: str) -> None:
    schedules = scheduled(("nightly", HOURLY), ("sweep", '  cron: "*/30 * * * *"\n'))

    async def both() -> None:
        at = "2027-03-26T12:00:02Z"
        await asyncio.gather(*(ticking(queue_url, schedules, at) for _ in range(2)))

    asyncio.run(both())
    assert sorted(jobs(queue_url), key=lambda j: j["args"]["runbook"]) == [
        job("nightly.yaml", "2027-03-26T12:00:00Z"),
        job("sweep.yaml", "2027-03-26T12:00:00Z"),
    ]


def test_skip_runs_no_fire_deferred_after_the_grace(queue_url: str) -> None:
    schedules = scheduled(("nightly", HOURLY + "  missed: skip\n"))
    asyncio.run(ticking(queue_url, schedules, "2027-03-26T12:00:00Z", "2027-03-26T15:10:00Z"))
    assert jobs(queue_url) == [job("nightly.yaml", "2027-03-26T12:00:00Z")]
    # A new worker, long after the fire, with nothing recorded since: still nothing.
    asyncio.run(ticking(queue_url, schedules, "2027-03-26T15:02:00Z"))
    assert len(jobs(queue_url)) == 1


def test_latest_runs_the_newest_missed_fire_once(queue_url: str) -> None:
    schedules = scheduled(("nightly", HOURLY + "  missed: latest\n  catch_up: 24h\n"))
    asyncio.run(ticking(queue_url, schedules, "2027-03-26T12:00:00Z"))
    # Workers down from 12:30 to 15:10: the 13:00, 14:00 and 15:00 fires were missed.
    asyncio.run(ticking(queue_url, schedules, "2027-03-26T15:10:00Z", "2027-03-26T15:20:00Z"))
    assert jobs(queue_url) == [
        job("nightly.yaml", "2027-03-26T12:00:00Z"),
        job("nightly.yaml", "2027-03-26T15:00:00Z"),
    ]


def test_all_runs_every_missed_fire_within_catch_up_oldest_first(queue_url: str) -> None:
    schedules = scheduled(("nightly", HOURLY + "  missed: all\n  catch_up: 150m\n"))
    asyncio.run(ticking(queue_url, schedules, "2027-03-26T12:00:00Z"))

    async def two_workers_come_back() -> None:
        at = "2027-03-26T16:10:00Z"  # catch_up reaches back to 13:40
        await asyncio.gather(*(ticking(queue_url, schedules, at) for _ in range(2)))

    asyncio.run(two_workers_come_back())
    assert jobs(queue_url) == [
        job("nightly.yaml", "2027-03-26T12:00:00Z"),
        job("nightly.yaml", "2027-03-26T14:00:00Z"),
        job("nightly.yaml", "2027-03-26T15:00:00Z"),
        job("nightly.yaml", "2027-03-26T16:00:00Z"),
    ]


def test_a_worker_catching_up_behind_another_does_not_defer_a_fire_twice(queue_url: str) -> None:
    from rb.worker.schedules import ScheduleDeferrer, schedule_registry

    schedules = scheduled(("nightly", HOURLY + "  missed: all\n  catch_up: 24h\n"))
    asyncio.run(ticking(queue_url, schedules, "2027-03-26T12:00:00Z"))
    at = "2027-03-26T15:10:00Z"

    async def main() -> None:
        app = queue_app(queue_url)
        async with app.open_async():
            slow = ScheduleDeferrer(app, schedule_registry(app, schedules))
            await slow.read_recorded()
            due = list(slow.get_previous_tasks(at=epoch(at)))
            assert [timestamp for _, timestamp in due] == [
                epoch("2027-03-26T13:00:00Z"),
                epoch("2027-03-26T14:00:00Z"),
                epoch("2027-03-26T15:00:00Z"),
            ]
            # Another worker defers them all (procrastinate keeps only the newest
            # record) before the slow one gets to its list.
            await ticking(queue_url, schedules, at)
            await slow.defer_jobs(due)

    asyncio.run(main())
    assert [j["args"]["timestamp"] for j in jobs(queue_url)] == [
        epoch(f"2027-03-26T{hour}:00:00Z") for hour in (12, 13, 14, 15)
    ]


def test_run_defers_on_its_own_and_takes_a_reloaded_registry(queue_url: str) -> None:
    from rb.worker.schedules import ScheduleDeferrer, schedule_registry

    every_minute = '  cron: "* * * * *"\n'

    async def until(condition: Any) -> None:
        deadline = time.monotonic() + 30
        while not await asyncio.to_thread(condition):
            assert time.monotonic() < deadline, "no job deferred within 30 s"
            await asyncio.sleep(0.05)

    async def main() -> None:
        app = queue_app(queue_url)
        async with app.open_async():
            deferrer = ScheduleDeferrer(app, schedule_registry(app, []))
            running = asyncio.create_task(deferrer.run())
            try:
                # Nothing is scheduled, so run() waits for a reload (the worker's SIGHUP).
                deferrer.reload(schedule_registry(app, scheduled(("first", every_minute))))
                await until(
                    lambda: {j["args"]["runbook"] for j in jobs(queue_url)} >= {"first.yaml"}
                )
                deferrer.reload(schedule_registry(app, scheduled(("second", every_minute))))
                await until(
                    lambda: any(j["args"]["runbook"] == "second.yaml" for j in jobs(queue_url))
                )
            finally:
                running.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await running

    asyncio.run(main())
    # Every minute has a fire less than 60 s ago, so each reload deferred one at once.
    assert [j["args"]["runbook"] for j in jobs(queue_url)] in (
        ["first.yaml", "second.yaml"],
        ["first.yaml", "first.yaml", "second.yaml"],  # the minute turned in between
    )


def test_the_registry_uses_the_workers_task_when_given(queue_url: str) -> None:
    from rb.worker.schedules import schedule_registry

    app = queue_app(queue_url)

    @app.task(name=SCHEDULED_TASK, queue=DEFAULT_QUEUE, pass_context=True)
    def real(context: Any, runbook: str, timestamp: int) -> None:
        """The worker's task (here: a stand-in)."""

    registry = schedule_registry(app, scheduled(("nightly", HOURLY)))
    ((key, task),) = registry.periodic_tasks.items()
    assert key == (SCHEDULED_TASK, "nightly")
    assert task.task is real
    assert task.configure_kwargs == {"task_kwargs": {"runbook": "nightly.yaml"}}
    assert datetime.fromtimestamp(task.croniter.get_next(float, 0), UTC).minute == 0
