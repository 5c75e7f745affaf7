"""bench.cold_start measures the API functions' imports in fresh processes; the figures are
reported by ``make bench``, never asserted here."""

from __future__ import annotations

from bench.cold_start import ColdStart, api_functions, heaviest, measure, section


def test_the_api_functions_are_those_behind_the_api_authorizer_first():
    found = [function.logical_id for function in api_functions()]

    assert found[0] == "AuthorizerFunction"
    assert {"EntryFunction", "StatusFunction"} <= set(found)
    assert "ValidatorFunction" not in found


def test_measuring_a_function_returns_a_figure_for_each_run():
    authorizer = api_functions()[0]

    result = measure(authorizer, runs=2)

    assert result.function == "AuthorizerFunction"
    assert len(result.imports) == len(result.import_cpu) == len(result.deferred) == 2
    assert all(seconds > 0 for seconds in result.imports + result.import_cpu + result.deferred)
    assert result.modules > 0
    assert result.heaviest_imports  # named from the -X importtime run


def test_heaviest_reads_the_outermost_imports_of_importtime():
    lines = [
        "import time: self [us] | cumulative | imported package",
        "import time:       100 |     300000 | pydantic",
        "import time:       200 |     250000 |   pydantic.main",
        "import time:        50 |      40000 | ingestion.api_models",
    ]

    assert heaviest(lines) == [("pydantic", 0.3), ("ingestion.api_models", 0.04)]


def test_the_section_has_a_row_per_function():
    imports, cpu, deferred = [0.4, 0.45], [0.38, 0.39], [0.3, 0.31]
    results = [ColdStart("EntryFunction", imports, cpu, deferred, 380, [("pydantic", 0.2)], [])]

    text = "\n".join(section(results, runs=2))

    assert "## API cold start" in text
    row = "| EntryFunction | 0.400 | 0.425 | 0.400-0.450 | 0.380 | yes | 0.305 | 380 | `pydantic` 0.20 |"
    assert row in text
