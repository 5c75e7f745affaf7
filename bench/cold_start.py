"""The API functions' cold start: importing each handler, in fresh processes.

``python -m bench.cold_start [--runs N]`` (``make bench`` runs it too and adds its section to
``bench/results.md``). For each function the API invokes (those with an ``Api`` event, and the
API's authorizer), ``--runs`` fresh interpreters each import the handler module as Lambda's
runtime does: by its file path, with the function's layers on ``sys.path`` and the function's
environment from template.yaml. Each reports:

- **import**: seconds to import the handler module, what a cold start pays before the handler
  can run (the interpreter's own start is not in it), and the CPU seconds of it (on a busy
  machine the wall clock also counts the time spent waiting for a core);
- **deferred**: seconds of the SnapStart hooks the handler registered, run right after (see
  ``ingestion.cold_start``): what the import left for first use (the X-Ray SDK, boto3 and the
  clients, the routes' validation). Without SnapStart the first request that needs it pays it;
  with SnapStart it runs before the snapshot, and a cold start resumes with it done.

One more run under ``python -X importtime`` names the heaviest imports. The figures are
reported, never asserted: the machine may be shared, so the minimum is the figure to compare.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RUNS = 7
TARGET_SECONDS = 0.5
# Where an import-time line starts, and the marker between the import and the deferred part.
_IMPORTTIME = "import time:"
_DEFERRED_MARK = "-- deferred --"

# Runs in the fresh interpreter: nothing but the standard library before the clock starts. The
# SnapStart hooks library of Lambda's runtime is stood in for, so that the hooks the handler
# registers can be run (and timed) as Lambda runs them before a snapshot.
_CHILD = """
import importlib.util, json, sys, time, types
spec = json.loads(sys.argv[1])
sys.path[:0] = spec["paths"]
hooks = []
snapshot_restore = types.ModuleType("snapshot_restore_py")
snapshot_restore.register_before_snapshot = lambda hook, *args, **kwargs: hooks.append((hook, args, kwargs))
snapshot_restore.register_after_restore = lambda hook, *args, **kwargs: None
sys.modules["snapshot_restore_py"] = snapshot_restore
before = len(sys.modules)
started, started_cpu = time.perf_counter(), time.process_time()
module_spec = importlib.util.spec_from_file_location(spec["module"], spec["file"])
module = importlib.util.module_from_spec(module_spec)
sys.modules[spec["module"]] = module
module_spec.loader.exec_module(module)
imported, imported_cpu = time.perf_counter(), time.process_time()
modules = len(sys.modules) - before
print(MARK, file=sys.stderr, flush=True)
for hook, args, kwargs in reversed(hooks):
    hook(*args, **kwargs)
deferred = time.perf_counter()
print(json.dumps({
    "import": imported - started,
    "import_cpu": imported_cpu - started_cpu,
    "deferred": deferred - imported,
    "modules": modules,
}))
""".replace("MARK", repr(_DEFERRED_MARK))


@dataclass(frozen=True)
class ApiFunction:
    """One function the API invokes, and how Lambda would import its handler."""

    logical_id: str
    module_file: Path
    paths: list[str]
    environment: dict[str, str]


@dataclass(frozen=True)
class ColdStart:
    """The runs of one function."""

    function: str
    imports: list[float]
    import_cpu: list[float]
    deferred: list[float]
    modules: int
    heaviest_imports: list[tuple[str, float]]
    heaviest_deferred: list[tuple[str, float]]

    @property
    def fastest(self) -> float:
        return min(self.imports)

    def spread(self) -> str:
        return f"{min(self.imports):.3f}-{max(self.imports):.3f}"


def api_functions(template_path: Path = ROOT / "template.yaml") -> list[ApiFunction]:
    """The functions behind the template's API, the authorizer first."""
    from local_stack.functions import function_environment, layer_paths
    from local_stack.gateway import api_from_template
    from local_stack.template import Template

    template = Template.load(template_path)
    api = api_from_template(template)
    ids = [authorizer.function_id for authorizer in api.authorizers.values()]
    ids += [route.function_id for route in api.routes]
    found = []
    for logical_id in dict.fromkeys(ids):
        properties = template.function_properties(logical_id)
        module, _, _ = str(template.resolve(properties["Handler"])).rpartition(".")
        code = (template.root / str(template.resolve(properties["CodeUri"]))).resolve()
        found.append(
            ApiFunction(
                logical_id=logical_id,
                module_file=code / (module.replace(".", "/") + ".py"),
                paths=[str(path) for path in layer_paths(template, logical_id)] + [str(code)],
                environment=function_environment(template, logical_id),
            )
        )
    return found


def child_environment(function: ApiFunction) -> dict[str, str]:
    """The function's template environment, with fake credentials: nothing reaches AWS."""
    return {
        "PATH": os.environ.get("PATH", ""),
        **function.environment,
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def run_once(function: ApiFunction, *, importtime: bool = False) -> tuple[dict[str, float], str]:
    """One fresh interpreter importing the function's handler: its figures, and its stderr."""
    spec = {
        "paths": function.paths,
        "module": f"lambda_{function.logical_id}",
        "file": str(function.module_file),
    }
    # -I: no user site, no PYTHON* variables, no current directory on sys.path: only the
    # interpreter's own packages and the function's layers, as in Lambda.
    command = [sys.executable, "-I", *(["-X", "importtime"] if importtime else []), "-c", _CHILD]
    completed = subprocess.run(  # noqa: S603 - our own interpreter and snippet
        [*command, json.dumps(spec)],
        cwd=function.module_file.parent,
        env=child_environment(function),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"importing {function.logical_id} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1]), completed.stderr


def heaviest(importtime_lines: list[str], count: int = 5) -> list[tuple[str, float]]:
    """The outermost imports with the largest cumulative time, in seconds."""
    found = []
    for line in importtime_lines:
        if not line.startswith(_IMPORTTIME):
            continue
        _, cumulative, name = (part for part in line[len(_IMPORTTIME) :].split("|"))
        if cumulative.strip().isdigit() and not name.startswith("  "):  # nested imports are indented
            found.append((name.strip(), int(cumulative) / 1e6))
    return sorted(found, key=lambda item: item[1], reverse=True)[:count]


def measure(function: ApiFunction, runs: int = DEFAULT_RUNS) -> ColdStart:
    results = [run_once(function)[0] for _ in range(runs)]
    _, stderr = run_once(function, importtime=True)
    lines = stderr.splitlines()
    mark = lines.index(_DEFERRED_MARK) if _DEFERRED_MARK in lines else len(lines)
    return ColdStart(
        function=function.logical_id,
        imports=[result["import"] for result in results],
        import_cpu=[result["import_cpu"] for result in results],
        deferred=[result["deferred"] for result in results],
        modules=int(results[-1]["modules"]),
        heaviest_imports=heaviest(lines[:mark]),
        heaviest_deferred=heaviest(lines[mark + 1 :]),
    )


def measure_api_functions(
    runs: int = DEFAULT_RUNS, template_path: Path = ROOT / "template.yaml"
) -> list[ColdStart]:
    return [measure(function, runs) for function in api_functions(template_path)]


def section(results: list[ColdStart], runs: int) -> list[str]:
    """The Markdown section of ``bench/results.md``."""

    def named(items: list[tuple[str, float]]) -> str:
        return ", ".join(f"`{name}` {seconds:.2f}" for name, seconds in items[:3])

    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    lines = [
        "",
        "## API cold start (importing the handlers)",
        "",
        f"`python -m bench.cold_start --runs {runs}`: {runs} fresh interpreters per function, each importing"
        " the handler as Lambda does (layers on `sys.path`, the template's environment); the interpreter's"
        " own start is not included. *Deferred* is what the import leaves for first use (X-Ray SDK, boto3"
        " and clients, route validation): the first request that needs it pays it, or, with SnapStart,"
        " the version's snapshot holds it. Reported, not asserted: compare the minimum (CPU seconds say"
        f" what the import costs when the machine is busy; load average when measured: {load}).",
        "",
        f"| function | import s, min | median | runs (min-max) | CPU s, min | < {TARGET_SECONDS} s"
        " | deferred s, median | modules imported"
        " | heaviest imports (cumulative s: with all each was first to import) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        verdict = "yes" if result.fastest < TARGET_SECONDS else "**no**"
        lines.append(
            f"| {result.function} | {result.fastest:.3f} | {statistics.median(result.imports):.3f}"
            f" | {result.spread()} | {min(result.import_cpu):.3f} | {verdict}"
            f" | {statistics.median(result.deferred):.3f} | {result.modules}"
            f" | {named(result.heaviest_imports)} |"
        )
    lines += ["", "Heaviest imports of the deferred part (cumulative s):", ""]
    lines += [
        f"- {result.function}: {named(result.heaviest_deferred) or 'nothing deferred'}" for result in results
    ]
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cold_start", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS, help="fresh processes per function")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead")
    args = parser.parse_args(argv)
    results = measure_api_functions(args.runs)
    if args.json:
        print(json.dumps([result.__dict__ for result in results], indent=2))
    else:
        print("\n".join(section(results, args.runs)))


if __name__ == "__main__":
    main()
