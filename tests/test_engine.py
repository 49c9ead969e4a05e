"""The engine in a fixture world: virtual time makes every timing exact."""

from __future__ import annotations

from rb.engine.events import (
    AttemptFailed,
    RetryScheduled,
    StepRolledBack,
    StepSkipped,
    StepStarted,
    StepSucceeded,
)

from .engine_helpers import run

HEAD = 'id: t\nname: T\nversion: "1"\n'


def test_retries_back_off_exponentially_in_virtual_time() -> None:
    result, events = run(
        HEAD
        + """
steps:
  - id: fetch
    type: data_fetch
    retry: {max_attempts: 4, initial_delay_seconds: 2, multiplier: 3, max_delay_seconds: 10}
    inputs: {source_url: "http://api.test/x"}
    outputs: {n: "$.n"}
""",
        """
http:
  - request: {url: "http://api.test/x"}
    responses: [{status: 500}, {status: 503}, {status: 502}, {status: 200, json: {n: 1}}]
""",
    )
    assert result.status == "success"
    assert [e.delay_seconds for e in events.of(RetryScheduled)] == [2.0, 6.0, 10.0]  # capped
    assert [e.error for e in events.of(AttemptFailed)] == [
        "HTTP 500 from GET http://api.test/x",
        "HTTP 503 from GET http://api.test/x",
        "HTTP 502 from GET http://api.test/x",
    ]
    assert result.duration_seconds == 18.0
    assert result.steps["fetch"].attempts == 4


def test_client_errors_are_not_retried() -> None:
    result, events = run(
        HEAD
        + """
steps:
  - id: fetch
    type: data_fetch
    retry: {max_attempts: 3}
    inputs: {source_url: "http://api.test/x"}
""",
        "http: [{request: {url: 'http://api.test/x'}, response: {status: 404}}]",
    )
    assert result.steps["fetch"].status == "failed"
    assert result.steps["fetch"].error == "HTTP 404 from GET http://api.test/x"
    assert len(events.of(StepStarted)) == 1


def test_timeout_cancels_the_attempt() -> None:
    result, _events = run(
        HEAD
        + """
steps:
  - id: slow
    type: data_fetch
    timeout_seconds: 3
    retry: {max_attempts: 2, initial_delay_seconds: 1}
    inputs: {source_url: "http://api.test/slow"}
""",
        "http: [{request: {url: 'http://api.test/slow'}, response: {latency_seconds: 10}}]",
    )
    assert result.steps["slow"].error == "timed out after 3s (after 2 attempts)"
    assert result.duration_seconds == 7.0  # 3 + 1 backoff + 3


def test_independent_steps_overlap_and_start_as_soon_as_ready() -> None:
    text = (
        HEAD
        + """
steps:
  - {id: a, type: wait, inputs: {seconds: 10}}
  - {id: b, type: wait, inputs: {seconds: 10}}
  - {id: c, type: wait, inputs: {seconds: 30}}
  - {id: after_a, type: wait, depends_on: [a], inputs: {seconds: 1}}
"""
    )
    result, events = run(text)
    assert result.duration_seconds == 30.0  # not 51: a, b and c overlap
    started = {e.step_id: t for t, e in events.times(StepStarted)}
    assert started == {"a": 0.0, "b": 0.0, "c": 0.0, "after_a": 10.0}  # not after c
    bounded, _ = run(text, max_parallel=1)
    assert bounded.duration_seconds == 51.0


def test_abort_cancels_running_steps_and_skips_the_rest() -> None:
    result, events = run(
        HEAD
        + """
steps:
  - id: broken
    type: data_fetch
    inputs: {source_url: "http://api.test/down"}
  - {id: long, type: wait, inputs: {seconds: 100}}
  - {id: later, type: wait, depends_on: [long], inputs: {seconds: 1}}
""",
        "http: [{request: {url: 'http://api.test/down'}, response: {fault: connection_error}}]",
    )
    assert result.status == "failure"
    assert "connection refused" in result.steps["broken"].error
    skipped = {e.step_id: e.reason for e in events.of(StepSkipped)}
    assert skipped == {
        "long": "cancelled: step 'broken' failed (on_failure: abort)",
        "later": "not run: step 'broken' failed (on_failure: abort)",
    }
    assert result.duration_seconds == 0.0  # the 100 s wait was cancelled, not awaited


def test_log_and_continue_lets_dependents_run_and_names_both_steps_on_a_read() -> None:
    result, _ = run(
        HEAD
        + """
steps:
  - id: flaky
    type: data_fetch
    on_failure: log_and_continue
    inputs: {source_url: "http://api.test/flaky"}
    outputs: {n: "$.n"}
  - {id: independent, type: wait, depends_on: [flaky], inputs: {seconds: 1}}
  - id: reader
    type: wait
    depends_on: [flaky]
    on_failure: log_and_continue
    inputs: {seconds: "${steps.flaky.outputs.n}"}
""",
        "http: [{request: {url: 'http://api.test/flaky'}, response: {status: 500}}]",
    )
    assert result.steps["independent"].status == "succeeded"
    assert result.steps["reader"].status == "failed"
    assert result.steps["reader"].error == (
        "inputs: output 'n' of step 'flaky' does not exist: the step failed: "
        "HTTP 500 from GET http://api.test/flaky"
    )
    assert result.status == "success"  # both failures were logged, and the run went on


def test_rollback_runs_compensations_newest_first_then_fails() -> None:
    result, events = run(
        HEAD
        + """
steps:
  - id: reserve
    type: shell
    inputs: {command: reserve}
    rollback: {type: shell, inputs: {command: release}}
  - id: deploy
    type: shell
    depends_on: [reserve]
    inputs: {command: deploy}
    rollback: {type: shell, inputs: {command: undeploy}}
  - id: no_compensation
    type: shell
    depends_on: [deploy]
    inputs: {command: "true"}
  - id: verify
    type: shell
    depends_on: [no_compensation]
    on_failure: rollback
    inputs: {command: verify}
""",
        """
shell:
  - {request: {command: reserve}, response: {}}
  - {request: {command: deploy}, response: {}}
  - {request: {command: "true"}, response: {}}
  - {request: {command: verify}, response: {exit_code: 2, stderr: "canary unhealthy"}}
  - {request: {command: undeploy}, response: {}}
  - {request: {command: release}, response: {}}
""",
    )
    assert result.status == "failure"
    assert result.steps["verify"].error == "verify exited with 2: canary unhealthy"
    assert [(e.step_id, e.ok) for e in events.of(StepRolledBack)] == [
        ("deploy", True),
        ("reserve", True),
    ]
    assert result.steps["deploy"].rolled_back and not result.steps["no_compensation"].rolled_back


def test_when_false_skips_the_step_and_its_dependents() -> None:
    result, events = run(
        HEAD
        + """
parameters:
  promote: {type: boolean, default: false}
steps:
  - {id: check, type: wait, inputs: {seconds: 1}}
  - {id: promote, type: wait, depends_on: [check], when: "${params.promote}", inputs: {seconds: 1}}
  - {id: announce, type: wait, depends_on: [promote], inputs: {seconds: 1}}
""",
    )
    assert result.status == "success"
    assert {e.step_id: e.reason for e in events.of(StepSkipped)} == {
        "promote": "condition is false: ${params.promote}",
        "announce": "dependency 'promote' was skipped",
    }


def test_for_each_collects_outputs_per_item() -> None:
    result, _ = run(
        HEAD
        + """
parameters:
  hosts: {type: array, default: [web1, web2, web3]}
steps:
  - id: ping
    type: shell
    for_each: "${params.hosts}"
    inputs: {command: ping, args: ["-c1", "${item}"]}
    outputs: {code: "$.exit_code", host: "${item}", index: "${item_index}"}
""",
        "shell: [{request: {command: ping}, response: {exit_code: 0}}]",
    )
    assert result.steps["ping"].outputs == {
        "code": [0, 0, 0],
        "host": ["web1", "web2", "web3"],
        "index": [0, 1, 2],
    }


def test_for_each_over_the_hard_limit_fails() -> None:
    result, _ = run(
        HEAD
        + """
parameters:
  hosts: {type: array}
steps:
  - id: many
    type: wait
    for_each: "${params.hosts}"
    inputs: {seconds: 0}
""",
        {"params": {"hosts": list(range(1001))}},
    )
    assert result.steps["many"].error == "for_each gave 1001 items; the hard limit is 1000"


def test_an_unmatched_request_names_it_and_the_closest_fixture_entries() -> None:
    result, _ = run(
        HEAD
        + """
steps:
  - id: fetch
    type: data_fetch
    retry: {max_attempts: 3}
    inputs: {source_url: "http://api.test/v2/items?limit=5"}
""",
        """
http:
  - request: {url: "http://api.test/v1/items?limit=5"}
    response: {json: []}
  - request: {method: POST, url: "http://api.test/v2/items?limit=5"}
    response: {json: []}
""",
    )
    error = result.steps["fetch"].error
    assert error.startswith("no fixture exchange matches GET http://api.test/v2/items?limit=5;")
    assert (
        "POST http://api.test/v2/items?limit=5: method differs (fixture POST, request GET)" in error
    )
    assert "url differs (fixture http://api.test/v1/items?limit=5" in error
    assert result.steps["fetch"].attempts == 1  # retrying cannot make a fixture match


def test_assumptions_are_checked_first() -> None:
    text = (
        HEAD
        + """
assumptions:
  - change_window_open: true
  - id: enough_replicas
    check: "${params.replicas >= 2}"
parameters:
  replicas: {type: integer, default: 1}
steps:
  - {id: a, type: wait, inputs: {seconds: 1}}
"""
    )
    result, _ = run(text, "facts: {change_window_open: true}")
    assert result.status == "aborted"
    assert [(a.name, a.ok) for a in result.assumptions] == [
        ("change_window_open", True),
        ("enough_replicas", False),
    ]
    assert result.steps["a"].status == "skipped"
    assert result.error.startswith("assumption 'enough_replicas' is not met")


def test_kpis_use_default_measures_or_an_expression() -> None:
    entities = [{"ok": i < 195} for i in range(200)]
    result, _ = run(
        HEAD
        + """
kpis:
  max_duration_seconds: 60
  min_success_rate:
    threshold: 0.95
    measure: "${steps.check.outputs.valid / steps.check.outputs.total}"
  max_error_rate: 0.01
steps:
  - id: fetch
    type: data_fetch
    inputs: {source_url: "http://api.test/e"}
    outputs: {entities: "$"}
  - id: check
    type: schema_check
    depends_on: [fetch]
    inputs:
      entities: "${steps.fetch.outputs.entities}"
      schema: {properties: {ok: {const: true}}}
    outputs: {valid: "$.valid_count", total: "$.total"}
""",
        {"http": [{"request": {"url": "http://api.test/e"}, "response": {"json": entities}}]},
    )
    kpis = {k.name: (k.measured, k.ok, k.detail) for k in result.kpis}
    assert kpis == {
        "max_duration_seconds": (0.0, True, "0s <= 60s"),
        "min_success_rate": (0.975, True, "0.975 >= 0.95"),
        "max_error_rate": (0.0, True, "0 <= 0.01"),
    }
    assert result.steps["check"].summary == "195 valid, 5 errors"


def test_events_tell_the_story_in_order() -> None:
    _, events = run(HEAD + "steps:\n  - {id: a, type: wait, inputs: {seconds: 2}}\n")
    names = [type(e).__name__ for _, e in events.events]
    assert names == ["RunStarted", "StepStarted", "StepSucceeded", "RunFinished"]
    (done,) = events.of(StepSucceeded)
    assert (done.summary, done.duration_seconds) == ("waited 2s", 2.0)


def test_fault_timeout_hangs_until_the_step_timeout() -> None:
    result, _ = run(
        HEAD
        + """
steps:
  - id: hang
    type: sql_query
    timeout_seconds: 5
    inputs: {database_url: "sqlite://", query: "SELECT 1"}
""",
        "sql: [{request: {query: 'SELECT 1'}, response: {fault: timeout}}]",
    )
    assert result.steps["hang"].error == "timed out after 5s"
    assert result.duration_seconds == 5.0


def test_fault_timeout_without_a_step_timeout_is_an_error_after_its_own_delay() -> None:
    result, _ = run(
        HEAD
        + """
steps:
  - id: hang
    type: data_fetch
    inputs: {source_url: "http://api.test/hang"}
""",
        "http: [{request: {url: 'http://api.test/hang'}, "
        "response: {fault: timeout, timeout_after_seconds: 30}}]",
    )
    assert result.steps["hang"].error == (
        "GET http://api.test/hang: timed out (fault injected by the fixture)"
    )
    assert result.duration_seconds == 30.0


def test_a_run_collects_garbage_less_often_and_gives_the_thresholds_back() -> None:
    """The collector's passes over a run's live objects free nothing (issue 16);
    a process that goes on after the run keeps its own settings."""
    import gc

    from rb.engine.events import EventBus, StepStarted
    from rb.engine.scheduler import execute
    from rb.plugins import step_types
    from rb.world.fixture import FixtureWorld
    from rb.world.fixture_format import from_data

    from .engine_helpers import runbook

    before = gc.get_threshold()
    during: list[tuple[int, ...]] = []
    book = runbook(HEAD + "steps:\n  - {id: a, type: wait, inputs: {seconds: 1}}\n")
    world = FixtureWorld(from_data({}))
    bus = EventBus(
        [lambda e: during.append(gc.get_threshold()) if isinstance(e, StepStarted) else None]
    )
    result = world.run(lambda: execute(book, world, params={}, step_types=step_types(), bus=bus))
    assert result.status == "success"
    assert during and during[0][0] >= 10_000
    assert gc.get_threshold() == before
