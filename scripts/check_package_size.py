"""Check that every function of the built stack fits Lambda's unzipped size limit.

Why: Lambda refuses a function whose code plus all its layers, unzipped, exceed 262,144,000 bytes
(250 MiB), but it says so only at deploy time, after the upload. The validator carries pyarrow and
pyiceberg in the dataplane layer (about 200 MB even after the trimming in
``layers/dataplane/Makefile``), so a version bump can cross the limit without anyone noticing; this
check runs right after ``sam build`` and names the function and the parts that make it too big.

Sizes are read from ``sam build``'s output (``.aws-sam/build``) and its rewritten template, which
names each function's code directory and the layers it uses (the ``Globals`` layers plus its own).
A file is counted at its full size and symbolic links are followed, as ``sam package`` zips them.

    python scripts/check_package_size.py .aws-sam/build
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

LAMBDA_UNZIPPED_LIMIT = 262_144_000
"""Bytes: Lambda's quota for a function's code and all its layers, unzipped (250 MiB)."""

MIB = 1024 * 1024
FUNCTION_TYPES = frozenset({"AWS::Serverless::Function", "AWS::Lambda::Function"})
LAYER_TYPES = frozenset({"AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion"})


class BuildError(Exception):
    """The build directory cannot be measured (missing, not built by ``sam build``, foreign layer)."""


@dataclass(frozen=True)
class Part:
    """One directory that Lambda unzips for a function: its code or one of its layers."""

    name: str
    size: int
    path: Path | None = None
    """Where ``sam build`` put it; None for inline code."""


@dataclass(frozen=True)
class FunctionPackage:
    """What Lambda unpacks for one function, which must fit within the limit as a whole."""

    function: str
    code: Part
    layers: tuple[Part, ...]

    @property
    def total(self) -> int:
        return self.code.size + sum(layer.size for layer in self.layers)

    def fits(self, limit: int = LAMBDA_UNZIPPED_LIMIT) -> bool:
        return self.total <= limit


class _CloudFormationLoader(yaml.SafeLoader):
    """Reads short-form intrinsics (``!Ref X``) as their long form (``{"Ref": "X"}``)."""


def _intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:
        raise BuildError(f"unexpected YAML node for !{tag_suffix}: {node!r}")
    return {name: value}


_CloudFormationLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path) -> dict[str, Any]:
    """The template as plain data, whichever form its intrinsic functions are written in."""
    if not path.is_file():
        raise BuildError(f"{path} not found: run `sam build` first")
    with path.open(encoding="utf-8") as stream:
        template = yaml.load(stream, Loader=_CloudFormationLoader)  # noqa: S506 - SafeLoader subclass
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
        raise BuildError(f"{path} is not a CloudFormation template with Resources")
    return template


def directory_size(path: Path) -> int:
    """Bytes of every file under ``path``, following symbolic links as ``sam package``'s zip does."""
    if path.is_file():
        return path.stat().st_size
    if not path.is_dir():
        raise BuildError(f"{path} not found: run `sam build` first")
    return sum(
        os.stat(os.path.join(root, name)).st_size
        for root, _dirs, files in os.walk(path, followlinks=True)
        for name in files
    )


def _layer_logical_id(reference: object, resources: Mapping[str, Any], function: str) -> str:
    if isinstance(reference, dict) and set(reference) == {"Ref"} and reference["Ref"] in resources:
        logical_id = str(reference["Ref"])
        if resources[logical_id].get("Type") in LAYER_TYPES:
            return logical_id
    raise BuildError(
        f"{function} uses the layer {reference!r}, which this stack does not build, so its size is "
        "unknown: measure it and add it to this check, or build the layer in template.yaml"
    )


def _code_part(function: str, properties: Mapping[str, Any], build_dir: Path) -> Part:
    if "InlineCode" in properties:
        return Part("code (inline)", len(str(properties["InlineCode"]).encode()))
    code_uri = properties.get("CodeUri")
    if not isinstance(code_uri, str):
        raise BuildError(f"{function} has no local CodeUri in the built template: {code_uri!r}")
    return Part("code", directory_size(build_dir / code_uri), build_dir / code_uri)


def _layer_part(logical_id: str, resources: Mapping[str, Any], build_dir: Path) -> Part:
    content_uri = (resources[logical_id].get("Properties") or {}).get("ContentUri")
    if not isinstance(content_uri, str):
        raise BuildError(f"layer {logical_id} has no local ContentUri in the built template: {content_uri!r}")
    return Part(logical_id, directory_size(build_dir / content_uri), build_dir / content_uri)


def function_packages(build_dir: Path) -> list[FunctionPackage]:
    """Each zip-packaged function of the build with the measured size of its code and layers."""
    template = load_template(build_dir / "template.yaml")
    resources: dict[str, Any] = template["Resources"]
    global_layers = (template.get("Globals") or {}).get("Function", {}).get("Layers", [])
    measured_layers: dict[str, Part] = {}
    packages = []
    for function, resource in resources.items():
        properties = resource.get("Properties") or {}
        if resource.get("Type") not in FUNCTION_TYPES or properties.get("PackageType") == "Image":
            continue
        # SAM appends a function's own layers to the Globals ones; a layer listed twice is one layer.
        layer_ids = dict.fromkeys(
            _layer_logical_id(reference, resources, function)
            for reference in [*global_layers, *properties.get("Layers", [])]
        )
        for logical_id in layer_ids:
            if logical_id not in measured_layers:
                measured_layers[logical_id] = _layer_part(logical_id, resources, build_dir)
        code = _code_part(function, properties, build_dir)
        packages.append(FunctionPackage(function, code, tuple(measured_layers[id_] for id_ in layer_ids)))
    if not packages:
        raise BuildError(f"{build_dir / 'template.yaml'} declares no zip-packaged function")
    return packages


def _mib(size: int) -> str:
    return f"{size / MIB:.2f}"


def format_table(packages: Iterable[FunctionPackage], limit: int = LAMBDA_UNZIPPED_LIMIT) -> str:
    """One row per function: code, each layer and the total in MiB, and the share of the limit used."""
    header = ("Function", "Code MiB", "Layers MiB", "Total MiB", "Of limit")
    rows = [
        (
            package.function,
            _mib(package.code.size),
            " + ".join(f"{layer.name} {_mib(layer.size)}" for layer in package.layers) or "-",
            _mib(package.total),
            f"{package.total / limit:.1%}",
        )
        for package in packages
    ]
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(width) if column in (0, 2) else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in [header, *rows]
    ]
    lines.append(f"Limit: {_mib(limit)} MiB ({limit:,} bytes) unzipped, code and layers together.")
    return "\n".join(lines)


def oversize_message(package: FunctionPackage, limit: int = LAMBDA_UNZIPPED_LIMIT) -> str:
    """Why a function cannot be deployed, naming its biggest parts so the reader knows where to trim."""
    parts = sorted([package.code, *package.layers], key=lambda part: part.size, reverse=True)
    breakdown = ", ".join(f"{part.name} {_mib(part.size)}" for part in parts)
    return (
        f"{package.function} is {package.total:,} bytes ({_mib(package.total)} MiB) unzipped, "
        f"{package.total - limit:,} bytes over Lambda's limit of {limit:,} bytes; Lambda will refuse "
        f"to deploy it. Parts in MiB: {breakdown}. Trim the biggest layer (see its Makefile) or move "
        "a dependency out of it."
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check that every built function fits Lambda's size limit.")
    parser.add_argument(
        "build_dir", nargs="?", default=Path(".aws-sam/build"), type=Path, help="sam build's output directory"
    )
    arguments = parser.parse_args(argv)
    try:
        packages = function_packages(arguments.build_dir)
    except BuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(format_table(packages))
    too_big = [package for package in packages if not package.fits()]
    for package in too_big:
        print(f"error: {oversize_message(package)}", file=sys.stderr)
    return 1 if too_big else 0


if __name__ == "__main__":
    sys.exit(main())
