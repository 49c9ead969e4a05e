"""Where secrets and the environment may be read (RB068, RB069).

rb masks a secret by its value (and its percent-encoded and base64 forms).
A secret changed by an expression (`lower(secrets.X)`, `secrets.X[::-1]`, a
list of its characters) no longer matches and would reach the store, the
console and the event stream in clear. So a secret may be used only whole:
`${secrets.NAME}` as a step's input value, alone or inside text. In
conditions (`when:`, an assumption's `check:`, wait's `until`) any use is
allowed, because only true or false comes out. Outputs, summaries, for_each
and KPI measures cannot read secrets at all.

`env` is read by name only (`env.NAME`), never as a whole mapping, and never
rb's own settings (RB_* variables, database URLs), which may hold tokens.
"""

from __future__ import annotations

import ast
from typing import Literal

from rb.checks.context import CheckContext
from rb.expressions.names import is_rb_setting
from rb.expressions.syntax import Expression
from rb.source import DataPath

SecretUse = Literal["value", "condition", "none"]


def check_sensitive(
    ctx: CheckContext,
    path: DataPath,
    base: int,
    expr: Expression,
    what: str,
    secrets: SecretUse,
) -> None:
    """Report secrets used where they could leak, and reads of the whole `env`."""
    lead = len(expr.source) - len(expr.source.lstrip())
    params = {p.name for p in ctx.runbook.parameters}
    parents: dict[int, ast.AST] = {}
    for node in ast.walk(expr.tree):
        for child in ast.iter_child_nodes(node):
            parents[id(child)] = node
    for node in ast.walk(expr.tree):
        if isinstance(node, ast.Name) and is_rb_setting(node.id) and node.id not in params:
            ctx.report_in_string(
                path,
                base + lead + node.col_offset,
                "RB069",
                f"{what}: {node.id} is one of rb's own settings and is not readable "
                "from expressions; pass the value as a parameter or a secret",
            )
            continue
        if not isinstance(node, ast.Name) or node.id not in ("secrets", "env"):
            continue
        at = base + lead + node.col_offset
        parent = parents.get(id(node))
        key = _constant_key(parent, node)
        if node.id == "env":
            if key is None:
                ctx.report_in_string(
                    path,
                    at,
                    "RB069",
                    f"{what}: read one environment variable by name, as in env.HOME; "
                    "the whole environment is not readable",
                )
            elif is_rb_setting(key):
                ctx.report_in_string(
                    path,
                    at,
                    "RB069",
                    f"{what}: env.{key} is one of rb's own settings and is not readable "
                    "from expressions; pass the value as a parameter or a secret",
                )
            continue
        if secrets == "condition" and key is not None:
            continue
        if secrets == "value" and key is not None and parent is expr.tree:
            continue
        ctx.report_in_string(path, at, "RB068", f"{what}: {_why(secrets, key)}")


def _constant_key(parent: ast.AST | None, node: ast.Name) -> str | None:
    if isinstance(parent, ast.Attribute) and parent.value is node:
        return parent.attr
    if (
        isinstance(parent, ast.Subscript)
        and parent.value is node
        and isinstance(parent.slice, ast.Constant)
        and isinstance(parent.slice.value, str)
    ):
        return parent.slice.value
    return None


def _why(secrets: SecretUse, key: str | None) -> str:
    if key is None:
        return "read one secret by name, as in ${secrets.API_TOKEN}; the whole set is not readable"
    if secrets == "none":
        return (
            f"secrets.{key} cannot be read here: what is computed here is recorded, and a "
            "secret belongs only in a step's inputs"
        )
    return (
        f"use secrets.{key} whole, as ${{secrets.{key}}} (alone or inside text): rb masks "
        "a secret by its value, so a changed secret (a function of it, a slice, an "
        "operator) would be recorded in clear"
    )
