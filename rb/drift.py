"""`rb replay ID --live`: does the outside world still answer as recorded?

Re-sends the recorded requests that only read — HTTP GET/HEAD/OPTIONS and
SQL queries — to the real services, and reports per exchange where the
answer now differs (drift), apart from any change in the runbook's own
logic. Requests that could change something are listed as not re-sent.
Secret references in the recording are filled from RB_SECRET_<NAME>
variables.

Whether SQL only reads is the database's word, not the query's first word
(`WITH d AS (DELETE …) SELECT …` and `SELECT nextval(…)` start like reads):
a query is re-run in a read-only transaction that is always rolled back
(`SET TRANSACTION READ ONLY` on PostgreSQL, `PRAGMA query_only` on SQLite);
one the database refuses there is reported as not re-sent. Other databases
cannot be held to that, so their queries are not re-sent. The first-word
check stays as a first filter.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Any

from rb.engine.secrets import Masker
from rb.report import differences
from rb.service.inputs import environment, secrets_from
from rb.store.records import Exchange, Execution
from rb.world.base import HttpRequest, SqlRequest, WorldError
from rb.world.live import LiveWorld

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
READ_ONLY_SQL = re.compile(r"\s*(SELECT|WITH|SHOW|EXPLAIN|VALUES)\b", re.IGNORECASE)
SECRET_REF = re.compile(r"\$\{secrets\.([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class DriftReport:
    """Each re-sent (or skipped) exchange's outcome: same, drift or skipped."""

    execution_id: str
    exchanges: tuple[dict[str, Any], ...]

    @property
    def drifted(self) -> bool:
        """Whether any answer now differs from the recording."""
        return any(e["outcome"] == "drift" for e in self.exchanges)

    def as_json(self) -> dict[str, Any]:
        """The report as `rb replay --live --format json` prints it."""
        return {
            "execution_id": self.execution_id,
            "drift": self.drifted,
            "exchanges": list(self.exchanges),
        }


def drift(run: Execution) -> DriftReport:
    """Re-send the safe recorded requests of `run` (read with its exchanges)."""
    secrets = secrets_from(os.environ, None)
    world = LiveWorld(env=environment(), secrets=secrets)
    mask = Masker(secrets, references=True)
    calls = [e for e in run.exchanges or () if e.kind in ("http", "sql") and e.response]

    async def main() -> list[dict[str, Any]]:
        try:
            return [await _check(e, world, secrets, mask) for e in calls]
        finally:
            await world.aclose()

    return DriftReport(run.id, tuple(world.run(main)))


async def _check(
    e: Exchange, world: LiveWorld, secrets: dict[str, str], mask: Masker
) -> dict[str, Any]:
    req = e.request
    shown = (
        f"{req['method']} {req['url']}"
        if e.kind == "http"
        else ("SQL " + " ".join(req["query"].split())[:60])
    )
    result: dict[str, Any] = {
        "seq": e.seq,
        "step": e.step_id,
        "request": shown,
        "differences": [],
    }
    if e.kind == "http" and req["method"].upper() not in SAFE_METHODS:
        return {
            **result,
            "outcome": "skipped",
            "detail": f"not re-sent: {req['method']} may change state",
        }
    if e.kind == "sql" and not READ_ONLY_SQL.match(req["query"]):
        return {**result, "outcome": "skipped", "detail": "not re-sent: not a read-only query"}
    missing = sorted(set(SECRET_REF.findall(json.dumps(req))) - set(secrets))
    if missing:
        names = ", ".join(f"RB_SECRET_{n}" for n in missing)
        return {**result, "outcome": "skipped", "detail": f"not re-sent: set {names}"}
    filled = _fill(req, secrets)
    try:
        if e.kind == "http":
            response = await world.http(
                HttpRequest(
                    filled["method"],
                    filled["url"],
                    filled.get("headers") or {},
                    filled.get("params") or {},
                    filled.get("json"),
                    filled.get("body"),
                    bool(filled.get("has_json")),
                ),
                step_id=e.step_id,
            )
            before = {k: e.response.get(k) for k in ("status", "body")}
            now = mask.data({"status": response.status, "body": response.body})
        else:
            sql = await world.sql(
                SqlRequest(
                    filled["database_url"],
                    filled["query"],
                    filled.get("params") or {},
                    read_only=True,
                ),
                step_id=e.step_id,
            )
            before = {"rows": e.response.get("rows")}
            now = mask.data({"rows": [dict(r) for r in sql.rows]})
    except WorldError as exc:
        if exc.kind == "refused_write":
            return {**result, "outcome": "skipped", "detail": f"not re-sent: {exc.message}"}
        return {**result, "outcome": "drift", "detail": f"now fails: {exc.message}"}
    diffs = list(differences(before, now, "$"))
    if diffs:
        return {**result, "outcome": "drift", "detail": "answers differently", "differences": diffs}
    return {**result, "outcome": "same", "detail": "answers as recorded"}


def _fill(value: Any, secrets: dict[str, str]) -> Any:
    """Put real secret values back where the recording holds references."""
    if isinstance(value, str):
        return SECRET_REF.sub(lambda m: secrets[m[1]], value)
    if isinstance(value, dict):
        return {k: _fill(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, secrets) for v in value]
    return value
