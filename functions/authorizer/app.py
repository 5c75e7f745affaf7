"""Token authorizer: ``Authorization: Token <t>`` or ``Bearer <t>`` -> the token's tenant."""

from __future__ import annotations

from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerResponse,
    APIGatewayAuthorizerTokenEvent,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from ingestion.observability import logger
from ingestion.services.authorization import tenant_for_authorization


@logger.inject_lambda_context
@event_source(data_class=APIGatewayAuthorizerTokenEvent)
def lambda_handler(event: APIGatewayAuthorizerTokenEvent, context: LambdaContext) -> dict:
    tenant = tenant_for_authorization(event.authorization_token)
    if tenant is None:
        # This exact message is how a TOKEN authorizer tells API Gateway to answer 401.
        raise Exception("Unauthorized")
    arn = event.parsed_arn
    policy = APIGatewayAuthorizerResponse(
        principal_id=tenant,
        context={"tenantId": tenant},
        region=arn.region,
        aws_account_id=arn.aws_account_id,
        api_id=arn.api_id,
        stage=arn.stage,
    )
    # The decision is cached per token (ReauthorizeEvery) for every route: allow them all.
    policy.allow_all_routes()
    return policy.asdict()
