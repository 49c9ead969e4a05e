"""Checking data against JSON Schemas, with positions and readable messages.

Two engines, for speed: a fastjsonschema validator compiled once per schema
answers the common case (valid data) quickly; only when it finds a problem is
`jsonschema` imported to list every problem with its path, which is turned
into diagnostics at file:line:col with "did you mean" suggestions.

Values computed at run time (strings holding `${...}`) cannot be checked
statically: `allow_expressions` widens a schema so they pass, and the slow
path skips problems found in them. The same widened schema is what `rb schema`
hands to editors.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from rb.diagnostics import Diagnostic, make
from rb.source import DataPath, SourceDoc

_EXPRESSION = {"type": "string", "pattern": r"\$\{"}
# Keyed by the schema object's id; the schema is kept alive beside it.
_compiled: dict[tuple[int, bool], tuple[Mapping[str, Any], Callable[[Any], Any]]] = {}

_TYPE_NAMES = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping",
    "null": "null",
}


def allow_expressions(schema: Any) -> Any:
    """A copy of `schema` in which any value may also be a `${...}` string."""
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    for key in ("properties", "patternProperties"):
        if isinstance(schema.get(key), dict):
            out[key] = {k: _widen(v) for k, v in schema[key].items()}
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            out[key] = _widen(schema[key])
    for key in ("anyOf", "oneOf", "allOf"):
        if isinstance(schema.get(key), list):
            out[key] = [allow_expressions(s) for s in schema[key]]
    return out


def _widen(schema: Any) -> Any:
    if not isinstance(schema, dict) or schema == {} or "$ref" in schema:
        return schema
    return {"anyOf": [allow_expressions(schema), _EXPRESSION]}


def is_valid(schema: Mapping[str, Any], data: Any, *, expressions: bool = False) -> bool:
    """Fast check: does `data` satisfy `schema`? (compiled once per schema).

    With `expressions`, any value may also be a `${...}` string.
    """
    key = (id(schema), expressions)
    entry = _compiled.get(key)
    if entry is None:
        widened = allow_expressions(schema) if expressions else dict(schema)
        entry = _compiled[key] = (schema, compile_validator(widened))
    validate = entry[1]
    try:
        validate(data)
    except Exception as exc:  # fastjsonschema raises JsonSchemaValueException
        if type(exc).__name__ == "JsonSchemaValueException":
            return False
        raise
    return True


def compile_validator(schema: Mapping[str, Any]) -> Callable[[Any], Any]:
    """A fastjsonschema validator, with its compiled code cached on disk.

    Generating and compiling a validator costs 10-40 ms per schema, paid by
    every `rb` process; the cache (keyed by schema, fastjsonschema and Python
    versions) brings it to about a millisecond. See `rb.cache`.
    """
    import marshal

    import fastjsonschema

    from rb.cache import cache_file, write_atomic

    text = json.dumps(schema, sort_keys=True)
    path = cache_file("validators", f"{fastjsonschema.VERSION}|{text}", ".marshal")
    try:
        name, code = marshal.loads(path.read_bytes()) if path else (None, None)
    except (OSError, ValueError, EOFError, TypeError):
        name, code = None, None
    if code is None:
        source = fastjsonschema.compile_to_code(dict(schema))
        found = re.search(r"^def (validate\w*)\(", source, re.MULTILINE)
        assert found is not None, "fastjsonschema generated no validate function"
        name = found.group(1)
        code = compile(source, f"<rb schema validator {name}>", "exec")
        if path:
            write_atomic(path, marshal.dumps((name, code)))
    namespace: dict[str, Any] = {}
    exec(code, namespace)  # the code fastjsonschema generated for this schema
    validate: Callable[[Any], Any] = namespace[str(name)]
    return validate


def check(
    schema: Mapping[str, Any],
    data: Any,
    doc: SourceDoc,
    base: DataPath = (),
    *,
    code: str | None = None,
    where: str = "",
    expressions: bool = False,
    user: bool = False,
) -> list[Diagnostic]:
    """Every way `data` (found at `base` in `doc`) breaks `schema`.

    `code` forces one diagnostic code (step inputs report as RB021);
    `where` names the thing checked, for messages; with `expressions`,
    `${...}` strings stand for values checked at run time; `user` marks a
    schema written in a runbook, whose patterns run on RE2 (see `_validator`).
    """
    if not _user_patterns(schema, user) and is_valid(schema, data, expressions=expressions):
        return []
    validator = _validator(schema, user)
    out: list[Diagnostic] = []
    for error in validator.iter_errors(data):
        if expressions and isinstance(error.instance, str) and "${" in error.instance:
            continue  # computed at run time; checked when the step runs
        out.extend(_translate(error, doc, base, code, where))
    return out


def first_problem(schema: Mapping[str, Any], data: Any, *, user: bool = False) -> str | None:
    """The first way `data` breaks `schema`, as "where: what", or None if valid.

    `user` marks a schema written in a runbook (its patterns run on RE2).
    """
    if not _user_patterns(schema, user) and is_valid(schema, data):
        return None
    for error in _validator(schema, user).iter_errors(data):
        where = _tail(tuple(error.absolute_path)) or "value"
        return f"{where}: {_plain(error.message)}"
    return None  # pragma: no cover - the fast check and jsonschema disagree


def _user_patterns(schema: Any, user: bool) -> bool:
    """Does a user's schema hold a `pattern`? (The fast path would run it on `re`.)"""
    if not user:
        return False
    if isinstance(schema, dict):
        return "pattern" in schema or any(_user_patterns(v, user) for v in schema.values())
    if isinstance(schema, list):
        return any(_user_patterns(v, user) for v in schema)
    return False


def _validator(schema: Mapping[str, Any], user: bool) -> Any:
    """A jsonschema validator; for a user's schema, one whose `pattern` uses RE2.

    Python's `re` backtracks, so a pattern like `^(a+)+$` could hang validation.
    rb's own schemas keep `re`: their patterns are written to be linear.
    """
    if user:
        from rb.user_patterns import validator_class

        return validator_class()(schema)
    import jsonschema

    return jsonschema.Draft7Validator(schema)


def _translate(
    error: Any, doc: SourceDoc, base: DataPath, code: str | None, where: str
) -> list[Diagnostic]:
    rel: DataPath = tuple(error.absolute_path)
    path = base + rel
    subject = f"{where}{_tail(rel, dotted=True)}" if where else describe(doc.data, path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    hint = schema.get("x-hint")
    kind = error.validator

    def diag(at: DataPath, default_code: str, message: str, *, key: bool = False) -> Diagnostic:
        pos = doc.position(at, key=key)
        return make(doc.path, pos.line, pos.col, code or default_code, message)

    if kind == "additionalProperties" and isinstance(error.instance, dict):
        known = sorted(schema.get("properties", {}))
        extras = [k for k in error.instance if k not in schema.get("properties", {})]
        return [
            diag(
                (*path, k),
                "RB010",
                f"unknown key {k!r} in {subject}{_key_hint(k, known)}",
                key=True,
            )
            for k in extras
        ]
    if kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return [diag(path, "RB011", f"{subject} is missing required field {missing!r}", key=True)]
    if kind == "type":
        expected = error.validator_value
        names = [expected] if isinstance(expected, str) else list(expected)
        want = " or ".join(_TYPE_NAMES.get(n, n) for n in names)
        msg = f"{subject} must be {want}, not {_show(error.instance)}"
        return [diag(path, "RB012", msg + (f"; {hint}" if hint else ""))]
    if kind == "enum":
        options = [str(o) for o in error.validator_value]
        msg = f"{subject} must be one of {', '.join(options)}, not {_show(error.instance)}"
        if isinstance(error.instance, str):
            msg += did_you_mean(error.instance, options)
        return [diag(path, "RB013", msg)]
    if kind == "propertyNames":
        return [
            diag(
                (*path, error.instance),
                "RB013",
                f"{subject}: key {error.instance!r} is not a valid name"
                + (f"; {_hint_of(error)}" if _hint_of(error) else ""),
                key=True,
            )
        ]
    if hint:
        shown = repr(error.instance) if isinstance(error.instance, str) else _show(error.instance)
        return [diag(path, "RB013", f"{subject} {shown} is not valid: {hint}")]
    message = error.message
    shown = repr(error.instance)
    if len(shown) > 60 and message.startswith(shown):
        message = _show(error.instance) + message[len(shown) :]  # not a 1000-item repr
    message = _plain(message)
    return [diag(path, "RB013", f"{subject}: {message}")]


def _hint_of(error: Any) -> str:
    for sub in getattr(error, "context", None) or []:
        if isinstance(sub.schema, dict) and "x-hint" in sub.schema:
            return str(sub.schema["x-hint"])
    schema = error.validator_value if isinstance(error.validator_value, dict) else {}
    return str(schema.get("x-hint", ""))


def did_you_mean(word: str, options: list[str]) -> str:
    """A close option as "; did you mean 'x'?", else ""."""
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _key_hint(key: Any, known: list[str]) -> str:
    """A close known key, or why a key is not text (YAML 1.1 reads a bare `on` as true)."""
    if isinstance(key, str):
        return suggest(key, known)
    return " (YAML reads a bare on, off, yes or no as a boolean: quote the key)"


def suggest(word: str, options: list[str]) -> str:
    """A close option ("; did you mean 'x'?"), else the options when few."""
    close = did_you_mean(word, options)
    if close:
        return close
    if options and len(options) <= 12:
        return f" (expected one of: {', '.join(options)})"
    return ""


def describe(data: Any, path: DataPath) -> str:
    """Name the place at `path` as a user reads it: "step 'fetch' inputs.url"."""
    parts = list(path)
    head = ""
    if len(parts) >= 2 and parts[0] == "steps" and isinstance(parts[1], int):
        step = data["steps"][parts[1]] if isinstance(data, dict) else None
        sid = step.get("id") if isinstance(step, dict) else None
        head = f"step {sid!r}" if isinstance(sid, str) else f"steps[{parts[1]}]"
        parts = parts[2:]
    tail = _tail(tuple(parts))
    if head and tail:
        return f"{head} {tail}"
    return head or tail or "the runbook"


def _tail(parts: DataPath, *, dotted: bool = False) -> str:
    """`a.b[0].c`; with `dotted`, a leading '.' so it can follow a name."""
    tail = ""
    for p in parts:
        tail += f"[{p}]" if isinstance(p, int) else (f".{p}" if tail or dotted else p)
    return tail


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f"text {value!r}" if len(value) < 60 else "a long text"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return f"the number {value}"
    return "a list" if isinstance(value, list) else "a mapping"


def _plain(message: str) -> str:
    return message.replace("None", "null").replace("True", "true").replace("False", "false")
