"""Parsing `${...}` expressions into a checked syntax tree.

Expressions use a small, safe subset of Python's expression syntax: literals,
names, `a.b` and `a[0]` lookups, calls of rb's functions, arithmetic,
comparisons, `and`/`or`/`not`, `x if c else y`, and list/dict literals. The
tree is checked against that subset once, here; the evaluator then only meets
node types it knows. No Python code is ever compiled or run.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import lru_cache

from rb.expressions.errors import ExpressionError
from rb.expressions.limits import MAX_DEPTH, depth, number_problem

MAX_LENGTH = 4000

_ALLOWED: tuple[type[ast.AST], ...] = (
    ast.Expression,
    ast.Constant,
    ast.Name,
    ast.Load,
    ast.Attribute,
    ast.Subscript,
    ast.Slice,
    ast.Call,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.Compare,
    ast.IfExp,
    ast.List,
    ast.Tuple,
    ast.Dict,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.FloorDiv,
    ast.Mod,
    ast.Pow,
    ast.USub,
    ast.UAdd,
    ast.Not,
    ast.And,
    ast.Or,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.In,
    ast.NotIn,
    ast.Is,
    ast.IsNot,
)

_WHAT = {
    ast.Lambda: "lambda",
    ast.ListComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.NamedExpr: "':='",
    ast.JoinedStr: "f-strings",
    ast.Starred: "'*' unpacking",
    ast.Set: "set literals",
    ast.Await: "await",
    ast.Yield: "yield",
}

CONSTANT_NAMES = {"true": True, "false": False, "null": None}


@dataclass(frozen=True, slots=True)
class Reference:
    """A name lookup chain with constant keys: `steps.fetch.outputs.items`."""

    root: str
    parts: tuple[str | int, ...]
    offset: int  # of the root name inside the expression source


@dataclass(frozen=True, slots=True)
class Call:
    """A function call by name."""

    name: str
    offset: int


@dataclass(frozen=True)
class Expression:
    """A parsed, checked expression."""

    source: str
    tree: ast.expr

    def references(self) -> list[Reference]:
        """Every root-name lookup chain in the expression (for static checks)."""
        return _references(self)

    def calls(self) -> list[Call]:
        """Every function called by name."""
        return [
            Call(n.func.id, _offset(self.source, n.func))
            for n in ast.walk(self.tree)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
        ]


@lru_cache(maxsize=4096)
def parse(source: str) -> Expression:
    """Parse and check one expression (the text between `${` and `}`)."""
    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"expression is longer than {MAX_LENGTH} characters", 0)
    # A line break inside ${...} (a folded YAML block) is just white space:
    # replacing it keeps every offset, unlike wrapping the text in parentheses.
    text = source.strip().replace("\r", " ").replace("\n", " ")
    lead = len(source) - len(source.lstrip())
    try:
        tree = ast.parse(text, mode="eval")
    except (RecursionError, MemoryError):
        raise ExpressionError("expression is nested too deeply", lead) from None
    except SyntaxError as exc:
        col = (exc.offset or 1) - 1 if (exc.lineno or 1) == 1 else 0
        msg = (exc.msg or "invalid syntax").replace("perhaps you forgot a comma?", "").strip()
        raise ExpressionError(f"invalid expression: {msg}", lead + max(col, 0)) from None
    if depth(tree) > MAX_DEPTH:
        raise ExpressionError(
            f"expression is nested more than {MAX_DEPTH} levels deep (operators, calls, "
            "lookups): split it, or compute the value in a step",
            lead,
        )
    nodes = list(ast.walk(tree))
    for node in nodes:
        _check_node(node, lead)
    for node in nodes:  # after the node checks, so `(lambda: 1)()` names the lambda
        _check_call(node, lead)
    return Expression(source, tree.body)


def _check_node(node: ast.AST, lead: int) -> None:
    if not isinstance(node, _ALLOWED):
        what = _WHAT.get(type(node), type(node).__name__)
        raise ExpressionError(f"{what} not allowed in expressions", lead + _col(node))
    if isinstance(node, ast.Name) and node.id.startswith("_"):
        raise ExpressionError(
            f"names starting with '_' are not allowed ({node.id!r})", lead + _col(node)
        )
    if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
        raise ExpressionError(
            f"keys starting with '_' cannot be read with '.' ({node.attr!r})",
            lead + _col(node),
        )
    if isinstance(node, ast.Constant) and not isinstance(
        node.value, str | int | float | bool | type(None)
    ):
        raise ExpressionError("only text, number, true, false and null literals", lead + _col(node))
    if isinstance(node, ast.Constant) and not isinstance(node.value, bool | str | type(None)):
        problem = number_problem(node.value)
        if problem is not None:
            raise ExpressionError(problem.replace("the result", "this number"), lead + _col(node))


def _check_call(node: ast.AST, lead: int) -> None:
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            raise ExpressionError(
                "only rb's functions can be called, by name, as in len(x); methods cannot",
                lead + _col(node),
            )
        if node.keywords:
            raise ExpressionError("functions take positional arguments only", lead + _col(node))


def _col(node: ast.AST) -> int:
    return int(getattr(node, "col_offset", 0))


def _offset(source: str, node: ast.AST) -> int:
    return len(source) - len(source.lstrip()) + _col(node)


def _references(expr: Expression) -> list[Reference]:
    refs: list[Reference] = []
    nodes = list(ast.walk(expr.tree))
    # Names in call position are functions, not references; and a chain's
    # inner nodes are visited once, from its outermost lookup.
    inner: set[int] = {id(n.func) for n in nodes if isinstance(n, ast.Call)}
    for node in nodes:
        if id(node) in inner or not isinstance(node, ast.Attribute | ast.Subscript | ast.Name):
            continue
        parts: list[str | int] = []
        cur: ast.expr = node
        while True:
            if isinstance(cur, ast.Attribute):
                parts.append(cur.attr)
            elif isinstance(cur, ast.Subscript):
                key = cur.slice
                if isinstance(key, ast.Constant) and isinstance(key.value, str | int):
                    parts.append(key.value)
                else:
                    parts.clear()  # dynamic key: only the part below it is static
            else:
                break
            cur = cur.value
            inner.add(id(cur))
        if isinstance(cur, ast.Name):
            refs.append(Reference(cur.id, tuple(reversed(parts)), _offset(expr.source, cur)))
    return sorted(refs, key=lambda r: r.offset)
