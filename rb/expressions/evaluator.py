"""Evaluating checked expressions over plain data.

The evaluator walks the syntax tree itself. Lookups with `.` and `[]` read
keys of mappings and items of lists only; no Python attribute is ever read and
no method is ever called, so nothing reaches Python internals. The work an
evaluation may do is bounded (rb.expressions.limits): every value an
operation builds is weighed, and repetition is refused before it is built.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rb.expressions.errors import ExpressionError
from rb.expressions.functions import FUNCTIONS
from rb.expressions.limits import MAX_SIZE, MAX_WORK, LimitExceeded, weigh
from rb.expressions.secret import (
    ChangedSecret,
    SecretDict,
    SecretList,
    SecretText,
    may_carry,
    touches_secret,
)
from rb.expressions.syntax import CONSTANT_NAMES, Expression

Resolver = Callable[[str], Any]

_BINOPS: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_CMPOPS: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}


def evaluate(expr: Expression, resolve: Resolver) -> Any:
    """Evaluate `expr`; `resolve(name)` gives the value of each root name.

    `resolve` raises ExpressionError (or KeyError) for names it does not know.
    """
    try:
        value = _Eval(expr.source, resolve).run(expr.tree)
    except RecursionError:
        # Comparing or printing data nested hundreds of levels deep (a
        # hostile response, say): the expression is not at fault, the data is.
        raise ExpressionError("a value is nested too deeply to compare or convert", 0) from None
    if isinstance(value, ChangedSecret):
        raise ExpressionError(_CHANGED_SECRET, len(expr.source) - len(expr.source.lstrip()))
    return str(value) if isinstance(value, SecretText) else value  # plain text from here on


_CHANGED_SECRET = (
    "a secret can only be used whole, as ${secrets.NAME} (alone or inside text), "
    "or in a condition: a changed secret would not be masked"
)


# Node types whose value is built by the expression (not read from the run):
# these are weighed against the bounds.
_BUILT = (ast.BinOp, ast.UnaryOp, ast.Call, ast.List, ast.Tuple, ast.Dict)


class _Eval:
    def __init__(self, source: str, resolve: Resolver) -> None:
        self.source = source
        self.lead = len(source) - len(source.lstrip())
        self.resolve = resolve
        self.work = MAX_WORK  # items and characters this evaluation may still build

    def fail(self, node: ast.AST, message: str) -> ExpressionError:
        return ExpressionError(message, self.lead + int(getattr(node, "col_offset", 0)))

    def run(self, node: ast.expr) -> Any:
        value = self.step(node)
        if isinstance(node, _BUILT):
            try:
                self.work -= weigh(value, min(MAX_SIZE, self.work))
            except LimitExceeded as exc:
                where = f" (at {_snippet(node)})"
                raise self.fail(node, _limit_message(str(exc), self.work) + where) from None
        return value

    def guard(self, node: ast.AST, operands: Any, result: Any) -> Any:
        """`result`, marked if it is text computed from a secret (see rb.expressions.secret).

        A list or mapping computed from a secret is refused here.
        """
        if not touches_secret(operands) or not may_carry(result):
            return result
        if isinstance(result, str):
            same = any(isinstance(o, SecretText) and o == result for o in operands)
            exact = same and not any(isinstance(o, ChangedSecret) for o in operands)
            return SecretText(result) if exact else ChangedSecret(result)
        raise self.fail(node, _CHANGED_SECRET)

    def holds_secret(self, node: ast.AST, items: list[Any]) -> bool:
        """True if a literal's items hold a secret; a changed secret is refused."""
        if any(isinstance(i, ChangedSecret) for i in items):
            raise self.fail(node, _CHANGED_SECRET)
        return touches_secret(items)

    def step(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.Attribute):
            return self.lookup(node, self.run(node.value), node.attr)
        if isinstance(node, ast.Subscript):
            container = self.run(node.value)
            if isinstance(node.slice, ast.Slice):
                return self.guard(node, [container], self.slice(node, container, node.slice))
            found = self.lookup(node, container, self.run(node.slice))
            return self.guard(node, [container], found)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.BinOp):
            left, right = self.run(node.left), self.run(node.right)
            return self.guard(node, [left, right], self.binop(node, left, right))
        if isinstance(node, ast.UnaryOp):
            value = self.run(node.operand)
            if isinstance(node.op, ast.Not):
                return not value
            self.need_number(node, value)
            return -value if isinstance(node.op, ast.USub) else +value
        if isinstance(node, ast.BoolOp):
            return self.boolop(node)
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.IfExp):
            return self.run(node.body) if self.run(node.test) else self.run(node.orelse)
        if isinstance(node, ast.List | ast.Tuple):
            items = [self.run(e) for e in node.elts]
            return SecretList(items) if self.holds_secret(node, items) else items
        if isinstance(node, ast.Dict):
            out: dict[Any, Any] = {}
            for k, v in zip(node.keys, node.values, strict=True):
                if k is None:
                    raise self.fail(node, "'**' is not allowed in mappings")
                key = self.run(k)
                if not isinstance(key, str | int | float | bool | type(None)):
                    raise self.fail(k, "a mapping key must be text, a number, true, false or null")
                out[key] = self.run(v)
            held = [*out.keys(), *out.values()]
            return SecretDict(out) if self.holds_secret(node, held) else out
        raise self.fail(node, f"{type(node).__name__} not allowed")  # checked at parse

    def name(self, node: ast.Name) -> Any:
        if node.id in CONSTANT_NAMES:
            return CONSTANT_NAMES[node.id]
        if node.id in ("True", "False", "None"):
            return {"True": True, "False": False, "None": None}[node.id]
        if node.id in FUNCTIONS:
            raise self.fail(node, f"{node.id} is a function: call it, as in {node.id}(x)")
        try:
            return self.resolve(node.id)
        except ExpressionError as exc:
            raise self.fail(node, exc.message) from None
        except KeyError:
            raise self.fail(node, f"unknown name {node.id!r}") from None

    def lookup(self, node: ast.AST, container: Any, key: Any) -> Any:
        if isinstance(container, Mapping):
            if key in container:
                try:
                    return container[key]
                except ExpressionError as exc:  # a lazy mapping explaining a missing value
                    raise self.fail(node, exc.message) from None
            known = ", ".join(sorted(map(str, container))[:10]) or "none"
            raise self.fail(node, f"no key {key!r} here (keys: {known})")
        if isinstance(container, Sequence) and not isinstance(container, str | bytes):
            if isinstance(key, bool) or not isinstance(key, int):
                raise self.fail(node, f"a list is indexed by a number, not {key!r}")
            if -len(container) <= key < len(container):
                return container[key]
            raise self.fail(node, f"index {key} is out of range for a list of {len(container)}")
        if isinstance(container, str) and isinstance(key, int) and not isinstance(key, bool):
            if -len(container) <= key < len(container):
                return container[key]
            raise self.fail(node, f"index {key} is out of range for text of {len(container)}")
        kind = "null" if container is None else type(container).__name__
        raise self.fail(node, f"cannot look up {key!r} in a {kind} value")

    def slice(self, node: ast.AST, container: Any, s: ast.Slice) -> Any:
        if not isinstance(container, list | str):
            raise self.fail(node, "only lists and text can be sliced")
        bounds = [None if b is None else self.run(b) for b in (s.lower, s.upper, s.step)]
        if any(b is not None and (isinstance(b, bool) or not isinstance(b, int)) for b in bounds):
            raise self.fail(node, "slice bounds must be whole numbers")
        if bounds[2] == 0:
            raise self.fail(node, "slice step cannot be zero")
        return container[bounds[0] : bounds[1] : bounds[2]]

    def call(self, node: ast.Call) -> Any:
        assert isinstance(node.func, ast.Name)  # checked at parse
        fn = FUNCTIONS.get(node.func.id)
        if fn is None:
            raise self.fail(node, f"unknown function {node.func.id!r}")
        args = [self.run(a) for a in node.args]
        try:
            return self.guard(node, args, fn(*args))
        except LimitExceeded as exc:
            raise self.fail(node, f"{node.func.id}(): {exc}") from None
        except RecursionError:
            raise self.fail(node, f"{node.func.id}(): the value is nested too deeply") from None
        except (TypeError, ValueError, AttributeError, ArithmeticError) as exc:
            raise self.fail(node, f"{node.func.id}(): {_plain(exc)}") from None

    def binop(self, node: ast.BinOp, left: Any, right: Any) -> Any:
        if isinstance(node.op, ast.Mult):
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, str | list) and isinstance(n, int) and len(seq) * n > MAX_SIZE:
                    raise self.fail(node, f"result would exceed {MAX_SIZE} items")
        if (
            isinstance(node.op, ast.Pow)
            and isinstance(right, int | float)
            and (abs(right) > 1000 or (isinstance(left, int) and left.bit_length() * right > 4096))
        ):
            raise self.fail(node, "power is too large")
        if (
            isinstance(node.op, ast.Add)
            and isinstance(left, str | list)
            and isinstance(right, str | list)
        ) and len(left) + len(right) > MAX_SIZE:
            raise self.fail(node, f"result would exceed {MAX_SIZE} items")
        if isinstance(node.op, ast.Mod) and isinstance(left, str):
            raise self.fail(node, "'%' formatting is not available; use '+' and str()")
        try:
            return _BINOPS[type(node.op)](left, right)
        except (TypeError, ArithmeticError) as exc:
            raise self.fail(node, _plain(exc)) from None

    def boolop(self, node: ast.BoolOp) -> Any:
        value: Any = None
        for operand in node.values:
            value = self.run(operand)
            if isinstance(node.op, ast.And) and not value:
                return value
            if isinstance(node.op, ast.Or) and value:
                return value
        return value

    def compare(self, node: ast.Compare) -> bool:
        left = self.run(node.left)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = self.run(comparator)
            try:
                ok = _CMPOPS[type(op)](left, right)
            except TypeError as exc:
                raise self.fail(node, _plain(exc)) from None
            if not ok:
                return False
            left = right
        return True

    def need_number(self, node: ast.AST, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(node, f"expected a number, got {type(value).__name__}")


def _snippet(node: ast.AST) -> str:
    """The sub-expression at fault, shortened, so a step's error names it."""
    text = ast.unparse(node)
    return text if len(text) <= 40 else text[:37] + "..."


def _limit_message(problem: str, work_left: int) -> str:
    if work_left <= 0 or ("too large" in problem and work_left < MAX_SIZE):
        return (
            f"the expression does too much work (more than {MAX_WORK} items or characters "
            "built in all): compute large values in a step, not in an expression"
        )
    if "too large" in problem:
        return f"{problem}: compute large values in a step, not in an expression"
    return problem


def _plain(exc: Exception) -> str:
    """Python's message without Python type names users never wrote."""
    return str(exc).replace("'NoneType'", "null").replace("NoneType", "null")
