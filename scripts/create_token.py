"""Issue an API token for a tenant in a deployed stack (or the local one).

    make token STACK=ingestion TENANT=acme
    .venv/bin/python scripts/create_token.py --stack ingestion --tenant acme
    python scripts/create_token.py --table <TokensTableName> --tenant acme [--token <value>]

Prints the token once; only its SHA-256 digest is stored.
"""

from __future__ import annotations

import argparse
import secrets

import boto3

from ingestion.repositories.tokens import TokenRepository


def tokens_table_name(stack: str) -> str:
    outputs = boto3.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]["Outputs"]
    return next(output["OutputValue"] for output in outputs if output["OutputKey"] == "TokensTableName")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--stack", help="CloudFormation stack name (reads its TokensTableName output)")
    where.add_argument("--table", help="tokens table name")
    parser.add_argument("--tenant", required=True, help="tenant the token acts for")
    parser.add_argument("--token", help="token value (default: 32 random bytes, URL-safe)")
    parser.add_argument("--description", default="", help="who or what the token is for")
    parser.add_argument("--endpoint-url", help="AWS endpoint, e.g. http://127.0.0.1:5000 for the local stack")
    args = parser.parse_args(argv)

    table_name = args.table or tokens_table_name(args.stack)
    token = args.token or secrets.token_urlsafe(32)
    table = boto3.resource("dynamodb", endpoint_url=args.endpoint_url).Table(table_name)
    TokenRepository(table).add(token, args.tenant, args.description)
    print(token)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
