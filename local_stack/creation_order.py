"""The order in which a template's resources are created: each after everything it refers to
(``Ref``, ``Fn::GetAtt``, ``Fn::Sub``, ``DependsOn``), as CloudFormation orders them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from local_stack.template import SUB_VARIABLE, Template, TemplateError


def dependencies(template: Template, logical_id: str) -> set[str]:
    """The resources ``logical_id`` refers to, directly."""
    spec = template.resources[logical_id]
    found = set(_references(spec.get("Properties") or {}))
    depends_on = spec.get("DependsOn") or []
    found.update([depends_on] if isinstance(depends_on, str) else depends_on)
    return {name for name in found if name in template.resources and name != logical_id}


def creation_order(template: Template, logical_ids: Iterable[str] | None = None) -> list[str]:
    """``logical_ids`` (all resources by default) ordered so that each comes after everything it
    depends on, transitively."""
    wanted = list(template.resources) if logical_ids is None else list(logical_ids)
    ordered: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in ordered:
            return
        if name in visiting:
            raise TemplateError(f"circular dependency through {name}")
        visiting.add(name)
        for dependency in sorted(dependencies(template, name)):
            visit(dependency)
        visiting.discard(name)
        ordered.append(name)

    for name in template.resources:
        visit(name)
    return [name for name in ordered if name in wanted]


def _references(value: Any) -> Iterable[str]:
    if isinstance(value, list):
        for item in value:
            yield from _references(item)
    elif isinstance(value, dict):
        for key, argument in value.items():
            if key == "Ref" and isinstance(argument, str):
                yield argument.split(".")[0]  # SAM's Function.Alias, Api.Stage...
            elif key == "Fn::GetAtt":
                yield argument.split(".")[0] if isinstance(argument, str) else argument[0]
            elif key == "Fn::Sub":
                text = argument[0] if isinstance(argument, list) else argument
                for match in SUB_VARIABLE.finditer(str(text)):
                    yield match.group(1).split(".")[0]
                if isinstance(argument, list) and len(argument) > 1:
                    yield from _references(argument[1])
            else:
                yield from _references(argument)
