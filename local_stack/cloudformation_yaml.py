"""template.yaml read as plain data, CloudFormation's short-form tags included.

The template writes ``!Ref``, ``!GetAtt``, ``!Sub`` and friends, which a plain YAML loader
rejects; this loader turns each into the long form CloudFormation itself accepts
(``{"Fn::GetAtt": [...]}``) so that ``local_stack.template`` resolves one form only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class CloudFormationLoader(yaml.SafeLoader):
    """A YAML loader that turns CloudFormation's short-form tags into their long form."""


def _construct_short_form(loader: CloudFormationLoader, tag_suffix: str, node: yaml.Node) -> dict:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        logical_id, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [logical_id, attribute]}
    return {f"Fn::{tag_suffix}": value}


CloudFormationLoader.add_multi_constructor("!", _construct_short_form)


def load_document(path: str | Path) -> Any:
    """The YAML file at ``path`` as plain data, short-form tags turned into ``{"Fn::X": ...}``."""
    with open(path, encoding="utf-8") as stream:
        return yaml.load(stream, Loader=CloudFormationLoader)  # noqa: S506 (a SafeLoader subclass)
