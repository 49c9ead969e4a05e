"""Expressions: splitting, typing, functions, and the sandbox."""

from __future__ import annotations

from typing import Any

import pytest

from rb.expressions import ExpressionError, parse, render, render_string, split

NAMESPACE: dict[str, Any] = {
    "steps": {
        "fetch": {"outputs": {"items": [3, 1, 2], "items_meta": {"keys": "k"}}, "status": "ok"}
    },
    "params": {"region": "EU", "count": 4},
    "env": {"HOME": "/root"},
}


def resolve(name: str) -> Any:
    return NAMESPACE[name]


def ev(text: str) -> Any:
    return render_string(text, resolve)


def test_whole_expression_keeps_its_type() -> None:
    assert ev("${steps.fetch.outputs.items}") == [3, 1, 2]
    assert ev("${params.count}") == 4
    assert ev("${params.count > 3}") is True


def test_expressions_inside_text_interpolate() -> None:
    assert ev("region ${lower(params.region)} has ${len(steps.fetch.outputs.items)} items") == (
        "region eu has 3 items"
    )
    assert ev("list: ${steps.fetch.outputs.items}") == "list: [3,1,2]"
    assert ev("flag=${params.count == 4}") == "flag=true"


def test_dollar_dollar_brace_is_a_literal() -> None:
    assert ev("cost $5 and $${not_an_expression}") == "cost $5 and ${not_an_expression}"


def test_render_walks_lists_and_mappings() -> None:
    value = {"a": ["${params.count}", {"b": "${upper(params.region)}"}], "c": 1}
    assert render(value, resolve) == {"a": [4, {"b": "EU"}], "c": 1}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${min(steps.fetch.outputs.items)}", 1),
        ("${max(2, 9, 4)}", 9),
        ("${sum(steps.fetch.outputs.items)}", 6),
        ("${round(195 / 200, 3)}", 0.975),
        ("${sorted(steps.fetch.outputs.items)}", [1, 2, 3]),
        ("${join(['a', 'b'], '-')}", "a-b"),
        ("${coalesce(null, 0, 5)}", 0),
        ("${steps.fetch.outputs.items[-1]}", 2),
        ("${steps.fetch.outputs.items[0:2]}", [3, 1]),
        ("${'yes' if params.count > 1 else 'no'}", "yes"),
        ("${steps['fetch'].status}", "ok"),
        ("${true and not false}", True),
        ("${json({'b': 1, 'a': null})}", '{"a":null,"b":1}'),
    ],
)
def test_functions_and_operators(text: str, expected: Any) -> None:
    assert ev(text) == expected


def test_dot_reads_mapping_keys_not_python_attributes() -> None:
    # `keys` is a dict method in Python; here it is the key of that name.
    assert ev("${steps.fetch.outputs.items_meta.keys}") == "k"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("${steps.__class__}", "keys starting with '_' cannot be read"),
        ("${params.region.__class__.__mro__}", "keys starting with '_' cannot be read"),
        ("${__import__('os').system('id')}", "names starting with '_' are not allowed"),
        ("${lower.__globals__}", "keys starting with '_' cannot be read"),
        ("${params['__class__']}", "no key '__class__'"),
        ("${'{0.__class__}'.format(params)}", "only rb's functions can be called"),
        ("${'%s' % params}", "'%' formatting is not available"),
        ("${params.region.mro}", "cannot look up 'mro' in a str value"),
        ("${[c for c in 'abc']}", "comprehensions not allowed"),
        ("${(lambda: 1)()}", "lambda not allowed"),
        ("${eval('1')}", "unknown function 'eval'"),
        ("${getattr(params, 'x')}", "unknown function 'getattr'"),
        ("${open}", "unknown name 'open'"),
        ("${'a' * 10000000}", "result would exceed"),
        ("${9 ** 9999}", "power is too large"),
        ("${len}", "len is a function"),
    ],
)
def test_sandbox_refuses_escapes_with_a_clear_error(text: str, message: str) -> None:
    def strict(name: str) -> Any:
        if name not in NAMESPACE:
            raise KeyError(name)
        return NAMESPACE[name]

    with pytest.raises(ExpressionError) as info:
        render_string(text, strict)
    assert message in str(info.value)


def test_error_offsets_point_into_the_string() -> None:
    with pytest.raises(ExpressionError) as info:
        ev("abc ${params.nope}")
    assert "no key 'nope'" in info.value.message
    assert info.value.offset == 6  # the 'p' of params


def test_split_handles_braces_and_quotes_inside_expressions() -> None:
    segs = split("x=${ {'a': '}'}['a'] } y")
    assert [s.expr for s in segs] == [None, " {'a': '}'}['a'] ", None]
    assert ev("${ {'a': '}'}['a'] }") == "}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("${a", "expression is not closed"),
        ("${}", "empty expression"),
        ("${a)}", "unbalanced ')'"),
    ],
)
def test_split_errors(text: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        split(text)


def test_references_are_found_for_static_checks() -> None:
    refs = parse("len(steps.a.outputs.x) + params['n'] + item").references()
    assert [(r.root, r.parts) for r in refs] == [
        ("steps", ("a", "outputs", "x")),
        ("params", ("n",)),
        ("item", ()),
    ]
    assert [c.name for c in parse("max(len(x), 1)").calls()] == ["max", "len"]


def test_line_breaks_inside_an_expression_are_white_space() -> None:
    assert ev("${params.count > 3\n    and lower(params.region) == 'eu'}") is True
    assert ev("${params.count\n  + 1}") == 5
