"""What the names in an expression mean. One place, for validator and engine.

Root names:

- `params.NAME`: a declared runbook parameter;
- `env.NAME`: an environment variable (text), except rb's own settings
  (`is_rb_setting`); `env` as a whole reads as empty;
- `secrets.NAME`: a secret, resolved at run time and masked in every output;
- `steps.ID.outputs.NAME`, `steps.ID.status`, `steps.ID.error`: a step that
  ran before this one (it must be among this step's ancestors);
- `execution.id`, `.runbook_id`, `.started_at`, `.duration`: the current run;
- `item`, `item_index`: the current element inside a `for_each` step;
- `result`: the step's own result document, in `outputs:`, `summary:` and
  `wait.until`;
- `outputs.NAME`: the step's own outputs, in its `summary:`.

A *bare* name (`${SOURCE_API_URL}`) is the declared parameter of that name if
there is one; otherwise, if it is written like an environment variable
(UPPER_CASE letters, digits, underscores), it is the secret of that name when
one is set (so `${API_TOKEN}` is masked like `${secrets.API_TOKEN}`), else
that environment variable. Any other bare name is an error.
"""

from __future__ import annotations

import re

ROOTS = (
    "params",
    "env",
    "secrets",
    "steps",
    "execution",
    "item",
    "item_index",
    "result",
    "outputs",
)
EXECUTION_FIELDS = ("id", "runbook_id", "started_at", "duration")
STEP_FIELDS = ("outputs", "status", "error")
STEP_STATUSES = ("succeeded", "failed", "skipped")

_ENV_STYLE = re.compile(r"[A-Z][A-Z0-9_]*\Z")
_RB_SETTING = re.compile(r"(RB_|DATABASE_URL\Z|PG(PASSWORD|PASSFILE)\Z)")


def is_rb_setting(name: str) -> bool:
    """True for rb's own settings (RB_*, database URLs): expressions never read them.

    They may hold the server's token or a database password.
    """
    return _RB_SETTING.match(name) is not None


def is_env_style(name: str) -> bool:
    """True for names written like environment variables (`API_URL`)."""
    return _ENV_STYLE.match(name) is not None


def bare_name_root(name: str, parameters: frozenset[str] | set[str]) -> str | None:
    """What a bare name refers to: "params", "env", or None if it is unknown."""
    if name in parameters:
        return "params"
    if is_env_style(name):
        return "env"
    return None
