"""Finding step types: every `rb.step_types` entry point, built-in or not."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from rb.errors import PluginError
from rb.step_type import ENTRY_POINT_GROUP, StepType


@lru_cache(maxsize=1)
def step_types() -> Mapping[str, StepType]:
    """All registered step types by name. Raises PluginError naming a bad plugin."""
    from importlib.metadata import entry_points

    found: dict[str, StepType] = {}
    origin: dict[str, str] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        where = f"{ep.name} = {ep.value}" + (f" (from {ep.dist.name})" if ep.dist else "")
        if ep.name in found:
            if origin[ep.name] == where:
                continue  # the same distribution seen twice on sys.path
            first, second = sorted((origin[ep.name], where))  # the same text whatever the order
            raise PluginError(
                ep.name,
                f"registered twice: by {first} and by {second}; rename one "
                "(built-in names cannot be replaced)",
            )
        try:
            obj = ep.load()
        except Exception as exc:
            raise PluginError(where, f"cannot be imported: {type(exc).__name__}: {exc}") from exc
        register_check(where, ep.name, obj)
        found[ep.name] = obj
        origin[ep.name] = where
    if not found:
        raise PluginError(
            ENTRY_POINT_GROUP,
            "no step types are registered; is rb installed (pip install -e .)?",
        )
    return dict(sorted(found.items()))


def register_check(where: str, name: str, obj: object) -> None:
    """Refuse an entry point that is not a well-formed StepType."""
    if not isinstance(obj, StepType):
        raise PluginError(where, f"must name an rb.step_type.StepType, not {type(obj).__name__}")
    if obj.name != name:
        raise PluginError(where, f"declares name {obj.name!r} but is registered as {name!r}")
    schema = obj.input_schema
    if not isinstance(schema, Mapping) or schema.get("type") != "object":
        raise PluginError(where, "input_schema must be a JSON Schema with type: object")
