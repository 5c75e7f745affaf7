"""Issue an API token for a tenant in a deployed stack (or the local one).

    make token STACK=ingestion TENANT=acme
    .venv/bin/python scripts/create_token.py --stack ingestion --tenant acme
    python scripts/create_token.py --table <TokensTableName> --usage-plan <UsagePlanId> --tenant acme
    python scripts/create_token.py --table <TokensTableName> --tenant acme --endpoint-url http://127.0.0.1:5000

Prints the token once; only its SHA-256 digest is stored. The API throttles each tenant on its
own (the stack's usage plan): the tenant's API key, ``<stack>-<tenant>``, is created the first
time, added to the usage plan, and stored with the token, for the authorizer to name. The
tenant's tokens issued before it had a key get it too. Without a usage plan (the local stack),
the key is ``local-<tenant>``, as the local stack's own tokens have.
"""

from __future__ import annotations

import argparse
import secrets
from typing import Any

import boto3

from ingestion.repositories.tokens import TokenRepository
from local_stack.tokens import local_api_key


def stack_outputs(stack: str, cloudformation: Any) -> dict[str, str]:
    described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    return {output["OutputKey"]: output["OutputValue"] for output in described.get("Outputs", [])}


def tenant_api_key(apigateway: Any, usage_plan_id: str, name: str, tenant: str) -> str:
    """The value of the tenant's API key ``name`` in the usage plan: created if there is none,
    added to the plan if it is not in it yet."""
    found = [
        key
        for page in apigateway.get_paginator("get_api_keys").paginate(nameQuery=name, includeValues=True)
        for key in page["items"]
        if key["name"] == name
    ]
    if found:
        key = found[0]
    else:
        key = apigateway.create_api_key(
            name=name,
            description=f"Usage identifier of tenant {tenant}: its requests count against the usage plan",
            enabled=True,
            customerId=tenant,
        )
    planned = {
        item["id"]
        for page in apigateway.get_paginator("get_usage_plan_keys").paginate(usagePlanId=usage_plan_id)
        for item in page["items"]
    }
    if key["id"] not in planned:
        apigateway.create_usage_plan_key(usagePlanId=usage_plan_id, keyId=key["id"], keyType="API_KEY")
    return str(key["value"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--stack", help="CloudFormation stack name (reads its TokensTableName and UsagePlanId outputs)"
    )
    where.add_argument("--table", help="tokens table name")
    parser.add_argument("--usage-plan", help="usage plan id, with --table (default: none, as locally)")
    parser.add_argument("--tenant", required=True, help="tenant the token acts for")
    parser.add_argument("--token", help="token value (default: 32 random bytes, URL-safe)")
    parser.add_argument("--description", default="", help="who or what the token is for")
    parser.add_argument("--endpoint-url", help="AWS endpoint, e.g. http://127.0.0.1:5000 for the local stack")
    args = parser.parse_args(argv)

    session = boto3.session.Session()
    table_name, usage_plan_id, key_name = args.table, args.usage_plan, f"ingestion-{args.tenant}"
    if args.stack:
        outputs = stack_outputs(args.stack, session.client("cloudformation", endpoint_url=args.endpoint_url))
        table_name, usage_plan_id = outputs["TokensTableName"], outputs["UsagePlanId"]
        key_name = f"{args.stack}-{args.tenant}"
    if usage_plan_id:
        apigateway = session.client("apigateway", endpoint_url=args.endpoint_url)
        api_key = tenant_api_key(apigateway, usage_plan_id, key_name, args.tenant)
    else:
        api_key = local_api_key(args.tenant)

    token = args.token or secrets.token_urlsafe(32)
    tokens = TokenRepository(session.resource("dynamodb", endpoint_url=args.endpoint_url).Table(table_name))
    tokens.add(token, args.tenant, args.description, api_key=api_key)
    tokens.set_api_key(args.tenant, api_key)
    print(token)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
