"""Resolving the names expressions read, during a run (rules: rb.expressions.names)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from rb.engine.outcome import StepOutcome
from rb.expressions import ExpressionError
from rb.expressions.names import bare_name_root, is_rb_setting
from rb.expressions.secret import SecretText

_UNSET = object()


class _FailedOutputs(Mapping[str, Any]):
    """Outputs of a step that failed or was skipped: every read explains why."""

    def __init__(self, outcome: StepOutcome, declared: frozenset[str]) -> None:
        self._outcome = outcome
        self._declared = declared

    def __contains__(self, key: object) -> bool:
        return key in self._declared

    def __getitem__(self, key: str) -> Any:
        o = self._outcome
        why = f"failed: {o.error}" if o.status == "failed" else f"was {o.status}"
        if o.status == "skipped" and o.reason:
            why += f" ({o.reason})"
        raise ExpressionError(
            f"output {key!r} of step {o.step_id!r} does not exist: the step {why}"
        )

    def __iter__(self) -> Iterator[str]:
        return iter(self._declared)

    def __len__(self) -> int:
        return len(self._declared)


class _Steps(Mapping[str, Any]):
    """`steps.ID` as the expression sees it: outputs, status, error."""

    def __init__(self, outcomes: Mapping[str, StepOutcome], declared: Mapping[str, frozenset[str]]):
        self._outcomes = outcomes
        self._declared = declared

    def __getitem__(self, step_id: str) -> Any:
        o = self._outcomes[step_id]
        outputs: Mapping[str, Any] = (
            o.outputs if o.status == "succeeded" else _FailedOutputs(o, self._declared[step_id])
        )
        return {"outputs": outputs, "status": o.status, "error": o.error or None}

    def __iter__(self) -> Iterator[str]:
        return iter(self._outcomes)

    def __len__(self) -> int:
        return len(self._outcomes)


class RunScope:
    """Everything a run's expressions can read; `resolver()` adds per-step names."""

    def __init__(
        self,
        *,
        params: Mapping[str, Any],
        env: Mapping[str, str],
        secrets: Mapping[str, str],
        outcomes: Mapping[str, StepOutcome],
        declared_outputs: Mapping[str, frozenset[str]],
        execution: Callable[[], Mapping[str, Any]],
    ) -> None:
        self.params = params
        # rb's own settings (the server's token, database URLs) are not for
        # expressions: they are left out, so reading one says "not set".
        self.env = {k: v for k, v in env.items() if not is_rb_setting(k)}
        # Marked, so an expression that changes one fails instead of leaking.
        self.secrets = {k: SecretText(v) for k, v in secrets.items()}
        self.steps = _Steps(outcomes, declared_outputs)
        self.execution = execution
        self._param_names = frozenset(params)
        # Names the run read, for the record: env values, secrets by name only.
        self.env_read: set[str] = set()
        self.secrets_read: set[str] = set()

    def resolver(self, **extra: Any) -> Callable[[str], Any]:
        """A name resolver; `extra` adds `item`, `item_index` or `result`."""

        def resolve(name: str) -> Any:
            value = extra.get(name, _UNSET)
            if value is not _UNSET:
                return value
            if name == "params":
                return self.params
            if name == "env":
                return _Named(
                    "environment variable",
                    self.env,
                    "set it before running rb (rb's own RB_* settings are never readable)",
                    self.env_read,
                )
            if name == "secrets":
                return _Named(
                    "secret",
                    self.secrets,
                    "set RB_SECRET_<NAME> or put it in the secrets file",
                    self.secrets_read,
                )
            if name == "steps":
                return self.steps
            if name == "execution":
                return self.execution()
            root = bare_name_root(name, self._param_names)
            if root == "params":
                return self.params[name]
            if root == "env":
                # A secret of that name wins over the environment: it is then
                # masked everywhere and recorded as a reference, never a value.
                if name in self.secrets:
                    self.secrets_read.add(name)
                    return self.secrets[name]
                if name not in self.env:
                    raise ExpressionError(
                        f"{name} is not set: set the environment variable {name}, "
                        f"or the secret {name} (RB_SECRET_{name}, or the secrets file)"
                    )
                self.env_read.add(name)
                return self.env[name]
            raise ExpressionError(f"unknown name {name!r}")

        return resolve


class _Named(Mapping[str, Any]):
    """A mapping whose missing keys get a message that says what to do."""

    def __init__(self, what: str, values: Mapping[str, Any], fix: str, reads: set[str]) -> None:
        self._what, self._values, self._fix, self._reads = what, values, fix, reads

    def __contains__(self, key: object) -> bool:
        return True  # so a missing key reaches __getitem__ and its message

    def __getitem__(self, key: str) -> Any:
        if key not in self._values:
            raise ExpressionError(f"{self._what} {key} is not set: {self._fix}")
        self._reads.add(key)
        return self._values[key]

    # Read by name only: `${env}` or `${secrets}` as a whole (or keys(env))
    # shows nothing, so no value is ever listed wholesale.
    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0
