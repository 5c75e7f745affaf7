"""DynamoDB's conditional writes on moto: of writers racing for one lock, exactly one wins."""

from __future__ import annotations

import threading
import time
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local_stack.dynamodb_atomicity import WRITE_ACTIONS, serialize_dynamodb_writes

WRITERS = 6
# Between moto's evaluation of a condition and its write: wide enough that, without the
# patch, every racing writer evaluates its condition before the first one writes.
CHECK_TO_WRITE_SECONDS = 0.2


@pytest.fixture(autouse=True)
def _moto_as_released(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts from moto's own write actions, whatever an earlier test patched."""
    from moto.dynamodb.responses import DynamoHandler

    for action in WRITE_ACTIONS:
        current = getattr(DynamoHandler, action, None)
        if current is not None:
            monkeypatch.setattr(DynamoHandler, action, getattr(current, "__wrapped__", current))


@pytest.fixture
def slow_conditions(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto evaluates each condition, then pauses before writing: a race made certain."""
    from moto.dynamodb import models

    parser_of = models.create_condition_expression_parser

    def slowed(*args: Any, **kwargs: Any) -> Any:
        parser = parser_of(*args, **kwargs)
        parse = parser.parse

        def parse_slowly() -> Any:
            condition = parse()
            evaluate = condition.expr

            def expr(item: Any) -> bool:
                holds = evaluate(item)
                time.sleep(CHECK_TO_WRITE_SECONDS)
                return holds

            condition.expr = expr
            return condition

        parser.parse = parse_slowly
        return parser

    monkeypatch.setattr(models, "create_condition_expression_parser", slowed)


@pytest.fixture
def locks(moto_endpoint: str) -> Any:
    client = boto3.client("dynamodb", endpoint_url=moto_endpoint, region_name="us-east-1")
    name = f"locks-{time.monotonic_ns()}"
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "tableId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "tableId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return boto3.resource("dynamodb", endpoint_url=moto_endpoint, region_name="us-east-1").Table(name)


def race_for_the_lock(table: Any) -> list[str]:
    """Every writer tries to take the free lock at once; the owners whose write succeeded
    (every other writer's write is refused on its condition)."""
    winners: list[str] = []
    refusals: list[str] = []
    start = threading.Barrier(WRITERS)

    def take(owner: str) -> None:
        start.wait()
        try:
            table.update_item(
                Key={"tableId": "collection/deals"},
                UpdateExpression="SET #owner = :owner",
                ConditionExpression="attribute_not_exists(#owner)",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":owner": owner},
            )
        except ClientError as error:
            refusals.append(error.response["Error"]["Code"])
        else:
            winners.append(owner)

    threads = [threading.Thread(target=take, args=(f"writer-{n}",)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert refusals == ["ConditionalCheckFailedException"] * (WRITERS - len(winners))
    return winners


@pytest.mark.usefixtures("slow_conditions")
def test_without_the_patch_moto_lets_several_racing_writers_take_one_lock(locks: Any):
    winners = race_for_the_lock(locks)

    assert len(winners) > 1  # what the patch is for: in DynamoDB one would win


@pytest.mark.usefixtures("slow_conditions")
def test_serialized_writes_let_exactly_one_racing_writer_take_the_lock(locks: Any):
    assert serialize_dynamodb_writes()
    assert serialize_dynamodb_writes()  # a second call keeps the first patch

    winners = race_for_the_lock(locks)

    assert len(winners) == 1
    assert locks.get_item(Key={"tableId": "collection/deals"})["Item"]["owner"] == winners[0]
