"""The local stack's settings, read from the environment as ``python -m local_stack`` reads them."""

from __future__ import annotations

import pytest

from local_stack.stack import LocalStackConfig


def test_four_invocations_of_each_sqs_triggered_function_run_at_once_unless_set() -> None:
    assert LocalStackConfig.from_environment({}).concurrency == 4


def test_local_concurrency_sets_how_many_run_at_once() -> None:
    assert LocalStackConfig.from_environment({"LOCAL_CONCURRENCY": "2"}).concurrency == 2


@pytest.mark.parametrize(
    ("value", "message"),
    [("0", "LOCAL_CONCURRENCY must be at least 1, not 0"), ("many", "must be a whole number, not 'many'")],
)
def test_a_local_concurrency_that_is_not_a_positive_number_is_refused(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LocalStackConfig.from_environment({"LOCAL_CONCURRENCY": value})


def test_template_parameters_are_overridden_as_sam_takes_them() -> None:
    config = LocalStackConfig.from_environment(
        {"LOCAL_PARAMETER_OVERRIDES": "MaxDecompressedMiB=8  StageName=dev"}
    )

    assert config.parameter_overrides == {"MaxDecompressedMiB": "8", "StageName": "dev"}


def test_a_parameter_override_without_a_value_is_refused() -> None:
    with pytest.raises(ValueError, match="takes Name=Value pairs, not 'MaxDecompressedMiB'"):
        LocalStackConfig.from_environment({"LOCAL_PARAMETER_OVERRIDES": "MaxDecompressedMiB"})


def test_scheduled_functions_keep_their_rate_unless_a_local_period_is_set() -> None:
    assert LocalStackConfig.from_environment({}).schedule_seconds is None
    assert LocalStackConfig.from_environment({"LOCAL_SCHEDULE_SECONDS": "0.5"}).schedule_seconds == 0.5


@pytest.mark.parametrize(
    ("value", "message"),
    [("0", "must be a positive number, not 0.0"), ("soon", "must be a number of seconds, not 'soon'")],
)
def test_a_local_schedule_period_that_is_not_a_positive_number_is_refused(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LocalStackConfig.from_environment({"LOCAL_SCHEDULE_SECONDS": value})


def test_dev_tokens_add_a_token_per_tenant_beside_dev_token() -> None:
    config = LocalStackConfig.from_environment({"DEV_TOKENS": "t-acme=acme, t-globex=globex"})

    assert config.tokens == {"dev-token": "dev", "t-acme": "acme", "t-globex": "globex"}


@pytest.mark.parametrize("value", ["t-acme", "t-acme=", "=acme", "a token=acme"])
def test_a_dev_token_that_is_not_a_token_tenant_pair_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="DEV_TOKENS takes token=tenant pairs"):
        LocalStackConfig.from_environment({"DEV_TOKENS": value})
