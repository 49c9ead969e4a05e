"""YAML source documents that remember where every value came from.

The loader parses with libyaml (when available) into a node tree, builds plain
Python values from it, and keeps the tree so a problem found later at a data
path (`("steps", 3, "inputs", "url")`) can be turned back into line:col. The
lookup is lazy: a valid file pays nothing for positions it never reports.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import yaml

from rb.diagnostics import Diagnostic, make
from rb.limits import MAX_DEPTH

try:
    _Loader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment,unused-ignore]
except AttributeError:  # pragma: no cover - libyaml missing, pure-Python fallback
    _Loader = yaml.SafeLoader

DataPath = tuple[str | int, ...]
_STR_TAG = "tag:yaml.org,2002:str"

# Limit on what one YAML file may build (docs/security.md, "Input files"): a
# 10,000-step runbook with a merge key in every step copies about 50,000 values;
# a billion-laughs bomb copies 10^9. Depth: see rb.limits.
MAX_ALIAS_COPIES = 1_000_000


@dataclass(frozen=True, slots=True)
class Position:
    """A 1-based line and column in a source file."""

    line: int
    col: int


@dataclass(frozen=True)
class SourceDoc:
    """A parsed YAML document: its data plus the node tree for positions."""

    path: str
    data: Any
    root: yaml.Node | None = field(repr=False, default=None)
    text: str = field(repr=False, default="")

    def position(self, path: DataPath, *, key: bool = False) -> Position:
        """Where the value at `path` starts (or its key, with `key=True`).

        Falls back to the deepest part of the path that exists, so a missing
        field is reported at the mapping that should have held it.
        """
        node = self.root
        if node is None:
            return Position(1, 1)
        mark = node.start_mark
        for i, part in enumerate(path):
            child = _child(node, part)
            if child is None:
                break  # reported at the container that lacks `part`
            key_node, node = child
            last = i == len(path) - 1
            mark = (
                key_node.start_mark if (last and key and key_node is not None) else node.start_mark
            )
        return Position(mark.line + 1, mark.column + 1)

    def string_offset(self, path: DataPath, offset: int) -> Position:
        """Position of character `offset` inside the string scalar at `path`.

        Exact for single-line plain and quoted scalars and for block scalars;
        escapes in double-quoted strings can shift it by a few columns.
        """
        node = self.root
        for part in path:
            child = _child(node, part) if node is not None else None
            if child is None:
                return self.position(path)
            node = child[1]
        if not isinstance(node, yaml.ScalarNode):
            return self.position(path)
        value: str = node.value
        before = value[:offset]
        newlines = before.count("\n")
        start = node.start_mark
        if node.style in ("|", ">"):
            # Block scalar: content starts on the line after the indicator, at
            # the block's indent (the first content line's leading spaces).
            lines = self.text.splitlines()
            first = start.line + 1
            indent = len(lines[first]) - len(lines[first].lstrip(" ")) if first < len(lines) else 0
            col = len(before) - (before.rfind("\n") + 1) + indent
            return Position(first + 1 + newlines, col + 1)
        if newlines:
            return Position(start.line + 1 + newlines, len(before) - before.rfind("\n"))
        quote = 1 if node.style in ("'", '"') else 0
        return Position(start.line + 1, start.column + 1 + quote + offset)


def _child(node: yaml.Node, part: str | int) -> tuple[yaml.Node | None, yaml.Node] | None:
    if isinstance(node, yaml.MappingNode) and isinstance(part, str):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == part:
                return key_node, value_node
    elif (
        isinstance(node, yaml.SequenceNode)
        and isinstance(part, int)
        and 0 <= part < len(node.value)
    ):
        return None, node.value[part]
    return None


@contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many acyclic objects.

    Parsing a 10,000-step runbook creates hundreds of thousands of nodes; the
    collector's repeated full passes over them made parsing quadratic (1.2 s
    instead of 0.4 s here). Nothing built here forms cycles worth collecting.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        # Move what was built out of the collector's way for good: reference
        # counting still frees it, the cyclic collector just stops rescanning it.
        gc.freeze()
        if enabled:
            gc.enable()


def parse(text: str, path: str) -> tuple[SourceDoc | None, list[Diagnostic]]:
    """Parse one YAML document. Returns the document or diagnostics."""
    with no_gc():
        return _parse(text, path)


def _parse(text: str, path: str) -> tuple[SourceDoc | None, list[Diagnostic]]:
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or "invalid YAML"
        context = f" ({exc.context})" if exc.context else ""
        msg = f"YAML syntax error: {problem}{context}; check indentation and quoting here"
        return None, [make(path, line, col, "RB002", msg)]
    except yaml.YAMLError as exc:
        return None, [make(path, 1, 1, "RB002", f"YAML syntax error: {exc}")]
    finally:
        loader.dispose()
    if root is None:
        return SourceDoc(path, None, None, text), []
    builder = _Builder(loader, path, len(text))
    try:
        data = builder.build(root, 0)
    except _TooLarge as exc:
        node, message = exc.node, exc.message
        loop = _recursive_alias(root) if exc.deep else None
        if loop is not None:  # the depth limit was reached by going round a loop
            node = loop
            message = (
                "an alias refers to this node from inside it (a recursive alias); "
                "rb's values are trees, so write the value out"
            )
        m = node.start_mark
        return None, [make(path, m.line + 1, m.column + 1, "RB002", message)]
    return SourceDoc(path, data, root, text), builder.diagnostics


def _recursive_alias(root: yaml.Node) -> yaml.Node | None:
    """A node that contains itself through an alias, if any (only on errors).

    A depth-first search that visits each node once (aliases share nodes, so
    walking the expanded tree could take as long as building it).
    """
    on_path: set[int] = set()
    done: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        if leaving:
            on_path.discard(id(node))
            done.add(id(node))
        elif id(node) in on_path:
            return node
        elif id(node) not in done and isinstance(node, yaml.CollectionNode):
            on_path.add(id(node))
            stack.append((node, True))
            for child in node.value:
                pairs = child if isinstance(child, tuple) else (child,)
                stack.extend((c, False) for c in pairs)
    return None


def load_data(text: str, path: str) -> Any:
    """Plain values from YAML text, with the same limits as `parse`.

    For small YAML inputs that need no positions (secrets files, `--fact`
    values). Raises ValueError with a `path:line:col: ...` message.
    """
    doc, diagnostics = parse(text, path)
    if doc is None or diagnostics:
        raise ValueError("\n".join(d.text() for d in diagnostics))
    return doc.data


def undecodable_line(exc: UnicodeDecodeError) -> int:
    """The 1-based line of the first byte that is not UTF-8."""
    return exc.object[: exc.start].count(b"\n") + 1


class _TooLarge(Exception):
    """The document expands past a limit; `node` is where it was found."""

    def __init__(self, node: yaml.Node, message: str, *, deep: bool = False) -> None:
        super().__init__(message)
        self.node = node
        self.message = message
        self.deep = deep  # the depth limit, not the size limit


class _Builder:
    """Turns a node tree into Python values, reporting duplicate keys.

    Aliases make the node tree a graph: a node reached again is built again
    (rb's values are plain trees). Two limits keep a hostile file from taking
    the process down: the number of values built (a "billion laughs" file of a
    few hundred bytes expands to 10^9) and nesting depth (which also stops an
    alias inside the node it refers to). A file without aliases builds fewer
    values than it has characters, so the first limit is `len(text)` plus
    MAX_ALIAS_COPIES; a counter costs far less than tracking which nodes repeat.
    """

    def __init__(self, loader: yaml.SafeLoader, path: str, text_length: int) -> None:
        self._loader = loader
        self._path = path
        self._budget = text_length + MAX_ALIAS_COPIES  # values left to build
        self.diagnostics: list[Diagnostic] = []

    def build(self, node: yaml.Node, depth: int) -> Any:
        self._budget -= 1
        if self._budget < 0:
            raise _TooLarge(
                node,
                f"aliases expand the document past {MAX_ALIAS_COPIES:,} copied values "
                "(this value is copied again and again); write the values out or nest "
                "fewer aliases",
            )
        if depth > MAX_DEPTH:
            message = f"values nest more than {MAX_DEPTH} levels deep here; flatten them"
            raise _TooLarge(node, message, deep=True)
        if isinstance(node, yaml.ScalarNode):
            if node.tag == _STR_TAG:
                return node.value
            return self._loader.construct_object(node)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, depth + 1) for item in node.value]
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, depth)
        raise AssertionError(f"unexpected YAML node {node!r}")  # pragma: no cover

    def _mapping(self, node: yaml.MappingNode, depth: int) -> dict[Any, Any]:
        explicit = {id(k) for k, _ in node.value}
        try:
            self._loader.flatten_mapping(node)  # YAML merge keys (<<) come first
        except RecursionError:
            raise _TooLarge(node, "a merge key (<<) here merges a mapping into itself") from None
        out: dict[Any, Any] = {}
        written: set[Any] = set()  # keys written explicitly, not merged in
        for key_node, value_node in node.value:
            key = self.build(key_node, depth + 1)
            if not isinstance(key, str | int | float | bool) and key is not None:
                key = str(key)
            if id(key_node) in explicit:
                duplicate = key in written
                written.add(key)
            else:
                duplicate = False
            if duplicate:
                m = key_node.start_mark
                self.diagnostics.append(
                    make(
                        self._path,
                        m.line + 1,
                        m.column + 1,
                        "RB003",
                        f"duplicate key {key!r}: the later value would silently win; "
                        "remove or rename one",
                    )
                )
            out[key] = self.build(value_node, depth + 1)
        return out
