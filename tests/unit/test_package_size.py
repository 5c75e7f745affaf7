"""scripts/check_package_size.py measures each function as Lambda will unzip it and fails the build
when one exceeds the 250 MB limit. Fake build directories hold sparse files, so a layer can be
hundreds of megabytes without using the disk."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "check_package_size.py"


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_package_size", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


check_package_size = _load_script()
LIMIT = check_package_size.LAMBDA_UNZIPPED_LIMIT

TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.12
    Layers:
    - Ref: SharedLayer
Resources:
  SharedLayer:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: SharedLayer
  DataplaneLayer:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: DataplaneLayer
  EntryFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: EntryFunction
      Handler: app.lambda_handler
  ValidatorFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: ValidatorFunction
      Handler: app.lambda_handler
      Layers:
      - Ref: DataplaneLayer
  DataBucket:
    Type: AWS::S3::Bucket
"""


def write_sparse(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as stream:
        stream.truncate(size)


def fake_build(
    tmp_path: Path, *, shared: int, dataplane: int, validator_code: int = 1000, template: str = TEMPLATE
) -> Path:
    build = tmp_path / "build"
    write_sparse(build / "SharedLayer" / "python" / "pydantic" / "core.so", shared)
    write_sparse(build / "DataplaneLayer" / "python" / "pyarrow" / "libarrow.so", dataplane)
    write_sparse(build / "EntryFunction" / "app.py", 500)
    write_sparse(build / "ValidatorFunction" / "app.py", validator_code)
    (build / "template.yaml").write_text(template, encoding="utf-8")
    return build


def packages_by_name(build: Path) -> dict[str, Any]:
    return {package.function: package for package in check_package_size.function_packages(build)}


def test_a_function_counts_its_code_the_globals_layers_and_its_own_layers(tmp_path):
    build = fake_build(tmp_path, shared=20_000_000, dataplane=180_000_000, validator_code=3000)

    packages = packages_by_name(build)

    validator = packages["ValidatorFunction"]
    assert validator.code.size == 3000
    assert [(layer.name, layer.size) for layer in validator.layers] == [
        ("SharedLayer", 20_000_000),
        ("DataplaneLayer", 180_000_000),
    ]
    assert validator.total == 200_003_000
    assert [layer.name for layer in packages["EntryFunction"].layers] == ["SharedLayer"]


def test_only_functions_are_measured(tmp_path):
    build = fake_build(tmp_path, shared=1, dataplane=1)

    assert set(packages_by_name(build)) == {"EntryFunction", "ValidatorFunction"}


def test_a_function_of_exactly_the_limit_fits(tmp_path):
    build = fake_build(tmp_path, shared=50_000_000, dataplane=LIMIT - 50_000_000 - 1000, validator_code=1000)

    validator = packages_by_name(build)["ValidatorFunction"]

    assert validator.total == LIMIT
    assert validator.fits()


def test_one_byte_over_the_limit_does_not_fit(tmp_path):
    build = fake_build(tmp_path, shared=50_000_000, dataplane=LIMIT - 50_000_000 - 1000, validator_code=1001)

    validator = packages_by_name(build)["ValidatorFunction"]

    assert validator.total == LIMIT + 1
    assert not validator.fits()


def test_main_passes_and_prints_the_table_when_every_function_fits(tmp_path, capsys):
    build = fake_build(tmp_path, shared=17 * 1024 * 1024, dataplane=187 * 1024 * 1024)

    exit_code = check_package_size.main([str(build)])

    output = capsys.readouterr().out
    assert exit_code == 0
    assert "ValidatorFunction" in output
    assert "SharedLayer 17.00 + DataplaneLayer 187.00" in output


def test_main_fails_naming_the_function_over_the_limit_and_its_biggest_part(tmp_path, capsys):
    build = fake_build(tmp_path, shared=20_000_000, dataplane=250_000_000)

    exit_code = check_package_size.main([str(build)])

    errors = capsys.readouterr().err
    assert exit_code == 1
    assert "ValidatorFunction is 270,001,000 bytes" in errors
    assert "7,857,000 bytes over" in errors
    assert "Parts in MiB: DataplaneLayer 238.42" in errors
    assert "EntryFunction" not in errors


def test_a_layer_listed_in_globals_and_by_the_function_counts_once(tmp_path):
    template = TEMPLATE.replace("- Ref: DataplaneLayer", "- Ref: DataplaneLayer\n      - Ref: SharedLayer")
    build = fake_build(tmp_path, shared=10, dataplane=20, validator_code=1, template=template)

    assert packages_by_name(build)["ValidatorFunction"].total == 31


def test_short_form_intrinsics_are_read_like_the_long_form(tmp_path):
    template = TEMPLATE.replace("- Ref: DataplaneLayer", "- !Ref DataplaneLayer")
    build = fake_build(tmp_path, shared=10, dataplane=20, validator_code=1, template=template)

    assert packages_by_name(build)["ValidatorFunction"].total == 31


def test_symlinked_files_count_at_the_size_of_their_target(tmp_path):
    build = fake_build(tmp_path, shared=10, dataplane=20, validator_code=1)
    library = build / "DataplaneLayer" / "python" / "pyarrow" / "libarrow.so"
    (library.parent / "libarrow.so.2600").symlink_to(library.name)

    assert packages_by_name(build)["ValidatorFunction"].total == 10 + 20 + 20 + 1


def test_a_layer_the_stack_does_not_build_cannot_be_measured(tmp_path, capsys):
    arn = "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-x86_64:7"
    template = TEMPLATE.replace("- Ref: DataplaneLayer", f"- {arn}")
    build = fake_build(tmp_path, shared=10, dataplane=20, template=template)

    exit_code = check_package_size.main([str(build)])

    assert exit_code == 2
    assert "ValidatorFunction uses the layer" in capsys.readouterr().err


@pytest.mark.parametrize("missing", ["template.yaml", "DataplaneLayer"])
def test_an_incomplete_build_is_reported_not_measured(tmp_path, capsys, missing):
    build = fake_build(tmp_path, shared=10, dataplane=20)
    target = build / missing
    if target.is_dir():
        shutil.rmtree(target)
    else:
        target.unlink()

    exit_code = check_package_size.main([str(build)])

    assert exit_code == 2
    assert "run `sam build` first" in capsys.readouterr().err
