"""Interpolating values into URLs, encoded for the part of the URL they land in.

`source_url: "https://api.example.com/entities/${params.id}"` must fetch one
entity whatever `id` holds: a `/`, `?`, `#`, space or line break in it is data,
not URL structure. Each interpolated value is encoded for where it lands:

- it starts the URL (`${params.base_url}/x`): used as given (it is the base);
- inside the host (`https://${params.env}.example.com`): only letters, digits,
  `-`, `.` and a `:port` may come from a value; anything else would move the
  request to another host (`api.invalid${p}` with `p=@127.0.0.1`), so it is
  refused;
- right after the host or a value, starting with `/`, `?` or `#`
  (`${params.base_url}${params.path}`): the value continues the URL; only
  characters never valid in a URL (spaces, line breaks, quotes...) are encoded;
- anywhere else in the path, the query or the fragment: percent-encoded
  entirely, `/` included (one path segment, one query value).
"""

from __future__ import annotations

import re
from typing import Any, Literal
from urllib.parse import quote

from rb.expressions import (
    ExpressionError,
    Resolver,
    evaluate,
    parse,
    render,
    split,
    text,
    whole_expression,
)

Start = Literal["url", "path"]

# Characters that may stand in a URL as they are (RFC 3986 reserved and
# unreserved, and `%` for values already encoded).
_URL_SAFE = "/?#[]@!$&'()*+,;=:%~"
_HOST_VALUE = re.compile(r"[A-Za-z0-9.\-]*(:[0-9]*)?")


def render_url(value: Any, resolve: Resolver, *, start: Start = "url") -> Any:
    """Render a URL input's `${...}` expressions, each encoded for its place.

    `start="path"` for an input that holds only a path (api_call `endpoint`).
    Raises ExpressionError (with the expression's offset) for a value that
    would change the host.
    """
    if not isinstance(value, str):
        return render(value, resolve)
    whole = whole_expression(value)
    if whole is not None and whole.expr is not None:
        return _evaluate(whole.expr, whole.offset, resolve)  # the whole URL is the value
    out = ""
    after_value = False  # the previous segment was an interpolated value
    for segment in split(value):
        if segment.expr is None:
            out += segment.text
            after_value = False
            continue
        piece = text(_evaluate(segment.expr, segment.offset, resolve))
        out += _encode(out, piece, start, after_value, segment)
        after_value = True
    return out


def _evaluate(expr: str, offset: int, resolve: Resolver) -> Any:
    try:
        return evaluate(parse(expr), resolve)
    except ExpressionError as exc:
        raise ExpressionError(exc.message, offset + exc.offset) from None


def _encode(prefix: str, piece: str, start: Start, after_value: bool, segment: Any) -> str:
    part = _part(prefix, start)
    if part == "start":
        return piece
    continues = piece[:1] in ("/", "?", "#") and (part == "authority" or after_value)
    if continues:
        return quote(piece, safe=_URL_SAFE)
    if part == "authority":
        if not _HOST_VALUE.fullmatch(piece):
            bad = next(c for c in piece if not (c.isascii() and (c.isalnum() or c in ".-:")))
            shown = "a line break" if bad in "\r\n" else repr(bad)
            raise ExpressionError(
                f"the value of ${{{segment.expr}}} lands in the URL's host and holds {shown}, "
                "which would change the host; a value there may hold only letters, digits, "
                "'-', '.' and a :port",
                segment.offset,
            )
        return piece
    if piece in (".", ".."):
        return piece.replace(".", "%2E")  # not a step up the path
    return quote(piece, safe="")


def _part(prefix: str, start: Start) -> str:
    """Where text appended to `prefix` lands: start, authority, path, query or fragment."""
    if "#" in prefix:
        return "fragment"
    if "?" in prefix:
        return "query"
    if start == "path":
        return "path"
    if not prefix:
        return "start"
    scheme, sep, rest = prefix.partition("://")
    if not sep:
        return "authority" if "/" not in scheme else "path"
    return "path" if "/" in rest else "authority"
