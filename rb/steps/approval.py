"""approval: the run goes on only once enough of the right people approve.

Without enough decisions yet the step parks the run (rb.engine.waiting.Park);
`rb approve` / `rb reject` or the API record a decision and resume it, and the
step, run again, finds the decisions in the world's inbox. See docs/waiting.md.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rb.step_type import StepType

if TYPE_CHECKING:
    from rb.engine.context import StepContext
    from rb.world.inbox import Decision

DEFAULT_TIMEOUT = 86_400.0  # a day: people sleep
GROUPS_FILE = "groups.yaml"  # group -> [users], in the project folder (RB_GROUPS_FILE)


@dataclass(frozen=True)
class ApprovalPolicy:
    """Who may approve a step, and how many must."""

    approvers: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    required: int = 1
    allow_self_approval: bool = False

    @classmethod
    def from_inputs(cls, inputs: Mapping[str, Any]) -> ApprovalPolicy:
        """The policy an approval step's inputs describe."""
        return cls(
            approvers=tuple(str(a) for a in inputs.get("approvers") or ()),
            groups=tuple(str(g) for g in inputs.get("groups") or ()),
            required=int(inputs.get("required", 1)),
            allow_self_approval=bool(inputs.get("allow_self_approval", False)),
        )

    def refusal(
        self, actor: str, trigger: str | None, members: Mapping[str, Sequence[str]]
    ) -> str | None:
        """Why `actor` may not decide this step, or None when they may."""
        if not self.allow_self_approval and trigger is not None and actor == trigger:
            return f"{actor} started this run and the step does not allow self-approval"
        if not self.approvers and not self.groups:
            return None  # anyone may approve
        if actor in self.approvers:
            return None
        if any(actor in members.get(group, ()) for group in self.groups):
            return None
        who = ", ".join([*self.approvers, *(f"group {g}" for g in self.groups)])
        return f"{actor} is not among the approvers ({who})"


def group_members(base: Path | None = None) -> dict[str, list[str]]:
    """Group membership from groups.yaml (RB_GROUPS_FILE overrides where it is).

    A plain file until identities come (a later issue): `group: [user, ...]`.
    A missing file means no groups.
    """
    import yaml

    path = Path(os.environ.get("RB_GROUPS_FILE") or (base or Path.cwd()) / GROUPS_FILE)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(g): [str(u) for u in (users or [])] for g, users in data.items()}


def tally(
    policy: ApprovalPolicy,
    decisions: Sequence[Decision],
    trigger: str | None,
    members: Mapping[str, Sequence[str]],
) -> tuple[list[Decision], list[Decision]]:
    """(approvals, rejections) that count: one per person, from people allowed to decide."""
    seen: set[str] = set()
    approvals: list[Decision] = []
    rejections: list[Decision] = []
    for decision in decisions:
        if decision.actor in seen or policy.refusal(decision.actor, trigger, members):
            continue
        seen.add(decision.actor)
        (approvals if decision.decision == "approve" else rejections).append(decision)
    return approvals, rejections


async def _run(ctx: StepContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
    from rb.engine.waiting import Park, WaitingFor
    from rb.errors import StepError

    world, step_id = ctx.world, ctx.step_id
    inbox = world.inbox
    if inbox is None:
        raise StepError(
            "an approval step needs a recorded run (rb run) or a fixture with an "
            "`approvals:` section (docs/fixtures.md)",
            retryable=False,
            kind="invalid_input",
        )
    policy = ApprovalPolicy.from_inputs(inputs)
    execution_id = str(ctx.evaluate("${execution.id}", {}))
    deadline = wait_deadline(
        ctx, execution_id, float(inputs.get("timeout_seconds", DEFAULT_TIMEOUT))
    )
    trigger = inbox.trigger(execution_id)
    members = group_members(ctx.base_dir) if policy.groups else {}
    answers: dict[str, Any] = {
        "decisions": [
            {"actor": d.actor, "decision": d.decision, "comment": d.comment}
            for d in inbox.decisions(execution_id, step_id)
        ],
        "timed_out": inbox.timed_out(step_id) or world.now() >= deadline,
    }
    if not inbox.parks or _decided(policy, answers, trigger, members):
        # Kept in the recording only once the step is decided, so a replay
        # gets back the answers the step went on with (and nothing parks).
        answers = world.observe(f"approval.{step_id}", answers)
    approvals, rejections = tally(policy, _decisions(answers), trigger, members)
    comments = [
        {"by": d.actor, "decision": d.decision, "comment": d.comment}
        for d in [*approvals, *rejections]
        if d.comment
    ]
    if rejections:
        first = rejections[0]
        said = f": {first.comment}" if first.comment else ""
        raise StepError(f"rejected by {first.actor}{said}", retryable=False, kind="rejected")
    if len(approvals) >= policy.required:
        return {
            "approved": True,
            "approvers": [d.actor for d in approvals],
            "comments": comments,
            "message": inputs.get("message", ""),
        }
    if answers["timed_out"]:
        have = f"{len(approvals)} of {policy.required} approvals"
        if inputs.get("on_timeout", "reject") == "fail":
            raise StepError(f"no decision in time ({have})", retryable=False, kind="timeout")
        raise StepError(
            f"not approved in time ({have}); on_timeout: reject", retryable=False, kind="rejected"
        )
    if not inbox.parks:
        said = (
            f"gives {len(approvals)} of {policy.required} approvals from allowed approvers"
            if answers["decisions"]
            else "does not answer it"
        )
        raise StepError(
            f"approval step {step_id!r}: the fixture {said}; give "
            f"`approvals: {{{step_id}: {{decision: approved, by: [...]}}}}` (docs/fixtures.md)",
            retryable=False,
            kind="unmatched",
        )
    raise Park(
        WaitingFor(
            "approval",
            step_id,
            {
                "approvers": list(policy.approvers),
                "groups": list(policy.groups),
                "needed": policy.required,
                "have": len(approvals),
                "approved_by": [d.actor for d in approvals],
                "message": str(inputs.get("message", "")),
                "deadline": deadline.isoformat(),
                "allow_self_approval": policy.allow_self_approval,
            },
        )
    )


def _decisions(answers: Mapping[str, Any]) -> list[Decision]:
    from rb.world.inbox import Decision

    return [
        Decision(str(d["actor"]), str(d["decision"]), d.get("comment"))
        for d in answers.get("decisions") or ()
    ]


def _decided(
    policy: ApprovalPolicy,
    answers: Mapping[str, Any],
    trigger: str | None,
    members: Mapping[str, Sequence[str]],
) -> bool:
    approvals, rejections = tally(policy, _decisions(answers), trigger, members)
    return bool(rejections) or len(approvals) >= policy.required or bool(answers["timed_out"])


def wait_deadline(ctx: StepContext, execution_id: str, timeout: float) -> datetime:
    """When the wait ends: from when the step FIRST waited, across parkings.

    The start is kept as a world observation (`wait.<step>.started`), which the
    recording stores; a later start of the run asks the inbox for it, and a
    replay gets it back from the recording.
    """
    world = ctx.world
    assert world.inbox is not None
    earlier = world.inbox.wait_started(execution_id, ctx.step_id)
    started = earlier or world.now()
    seen = world.observe(f"wait.{ctx.step_id}.started", started.isoformat())
    return datetime.fromisoformat(str(seen)) + timedelta(seconds=timeout)


def _summary(result: Any) -> str:
    names = ", ".join(result["approvers"])
    return f"approved by {names}" if names else "approved"


APPROVAL = StepType(
    name="approval",
    summary="Wait until enough of the right people approve (N of M); a rejection fails the step.",
    input_schema={
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "message": {
                "type": "string",
                "description": "What the approvers are asked; ${...} renders the run's context.",
            },
            "approvers": {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "uniqueItems": True,
                "description": "Users who may approve (none and no groups: anyone).",
            },
            "groups": {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "uniqueItems": True,
                "description": "Groups whose members may approve (groups.yaml: group -> users).",
            },
            "required": {
                "type": "integer",
                "minimum": 1,
                "description": "How many distinct people must approve (default 1).",
            },
            "timeout_seconds": {
                "type": "number",
                "exclusiveMinimum": 0,
                "description": "How long to wait from the first wait (default 86400).",
            },
            "on_timeout": {
                "enum": ["reject", "fail"],
                "description": "reject: as a rejection (kind rejected); fail: kind timeout.",
            },
            "allow_self_approval": {
                "type": "boolean",
                "description": "Whether whoever started the run may approve it (default false).",
            },
        },
        "x-hint": "give `approvers` and/or `groups`, `required`, and a `message`",
    },
    result="`approved` (true), `approvers` (who approved), `comments` "
    "([{by, decision, comment}]) and `message` (as rendered).",
    result_fields=("approved", "approvers", "comments", "message"),
    # The wait is not inside an attempt (the run parks), so `timeout_seconds`
    # is not a duration input: the step's own attempt timeout stays short.
    run=_run,
    summarize=_summary,
    example={
        "message": "Fail over ${params.cluster} to its replica?",
        "approvers": ["alice", "bob", "carol"],
        "required": 2,
        "timeout_seconds": 3600,
        "on_timeout": "reject",
        "allow_self_approval": False,
    },
)
