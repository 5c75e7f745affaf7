"""Token authorizer: ``Authorization: Token <t>`` or ``Bearer <t>`` -> the token's tenant, and
the tenant's API key, by which API Gateway's usage plan throttles each tenant on its own."""

from __future__ import annotations

from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerResponse,
    APIGatewayAuthorizerTokenEvent,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from ingestion.cold_start import load_before_snapshot
from ingestion.observability import logger
from ingestion.services.authorization import caller_for_authorization

# With SnapStart, what importing this module deferred is loaded before the snapshot.
load_before_snapshot()


@logger.inject_lambda_context
@event_source(data_class=APIGatewayAuthorizerTokenEvent)
def lambda_handler(event: APIGatewayAuthorizerTokenEvent, context: LambdaContext) -> dict:
    caller = caller_for_authorization(event.authorization_token)
    if caller is None:
        # This exact message is how a TOKEN authorizer tells API Gateway to answer 401.
        raise Exception("Unauthorized")
    if caller.api_key is None:
        # API Gateway then answers 403 (INVALID_API_KEY): the routes need the tenant's API key.
        logger.warning("a token of tenant %s has no API key: issue one with make token", caller.tenant_id)
    arn = event.parsed_arn
    policy = APIGatewayAuthorizerResponse(
        principal_id=caller.tenant_id,
        context={"tenantId": caller.tenant_id},
        region=arn.region,
        aws_account_id=arn.aws_account_id,
        api_id=arn.api_id,
        stage=arn.stage,
        usage_identifier_key=caller.api_key,
    )
    # The decision is cached per token (ReauthorizeEvery) for every route: allow them all.
    policy.allow_all_routes()
    return policy.asdict()
