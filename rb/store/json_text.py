"""JSON text for stored columns: exactly `json.dumps(value)`, faster.

`json.dumps` builds a new encoder on every call, which costs twice what
encoding a step's small inputs does. The recorder serializes a few values
per recorded step, so the store keeps one of CPython's C encoders, set up
with `json.dumps`'s defaults (falling back to `json.dumps` where there is
none). Stored values come from JSON, YAML and the engine's own results, so
they hold no cycles and need no cycle check.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from json import encoder
from typing import Any


def _c_encoder() -> Callable[[Any, int], Any] | None:
    make = getattr(encoder, "c_make_encoder", None)  # CPython's, not in the stubs
    if make is None:  # pragma: no cover - Python without the C speedups
        return None
    encode: Callable[[Any, int], Any] = make(
        None,  # no cycle check (see above)
        json.JSONEncoder().default,  # TypeError for what JSON cannot hold, as dumps
        encoder.encode_basestring_ascii,
        None,  # no indent
        ": ",
        ", ",
        False,  # sort_keys
        False,  # skipkeys
        True,  # allow_nan
    )
    return encode


_ENCODE = _c_encoder()


def dumps(value: Any) -> str:
    """`json.dumps(value)`, with its default arguments."""
    # A plain function, not a closure: psycopg keys its JSON dumpers on it.
    if _ENCODE is None:  # pragma: no cover - Python without the C speedups
        return json.dumps(value)
    return "".join(_ENCODE(value, 0))
