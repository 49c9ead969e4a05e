"""A secret's value as expressions see it: text that refuses to be changed.

rb masks a secret by its value. `rb validate` refuses `secrets.NAME` changed
by an expression (RB068), but a bare name (`${API_TOKEN}`) is only known to
be a secret at run time. So the run hands expressions a `SecretText`; text
computed from one is a `ChangedSecret`, which may still be compared or
measured (`len(strip(secrets.X)) > 0`: true/false or a number cannot carry
the value) but is refused as an expression's result, and a list or mapping
computed from a secret is refused at once.
"""

from __future__ import annotations

from typing import Any


class SecretText(str):
    """The value of a secret, marked so the evaluator can follow it."""

    __slots__ = ()


class ChangedSecret(SecretText):
    """Text computed from a secret: masking would not find it."""

    __slots__ = ()


class SecretList(list[Any]):
    """A list an expression built holding a secret (`[secrets.X]`)."""

    __slots__ = ()


class SecretDict(dict[Any, Any]):
    """A mapping an expression built holding a secret."""

    __slots__ = ()


def touches_secret(operands: Any) -> bool:
    """True if any operand is, or is a built container holding, a secret."""
    return any(isinstance(o, SecretText | SecretList | SecretDict) for o in operands)


def may_carry(result: Any) -> bool:
    """True for results that could hold (part of) a secret: text and containers."""
    return not isinstance(result, bool | int | float | type(None))
