"""What the local stack prints when it has started: its addresses, token, resources, routes and
triggers, and the commands that send a first file through it."""

from __future__ import annotations

from local_stack.stack import UPLOAD_URL_ROUTE, LocalStack


def banner(stack: LocalStack) -> str:
    """What ``python -m local_stack`` prints once the stack runs: where everything is, and how to
    send a first file."""
    template = stack.running_template()
    api = stack.running_api()
    bucket = stack.bucket_name()
    prefix = stack.notification_prefix()
    token = stack.config.dev_token
    auth = f"-H 'Authorization: Token {token}'"
    tables = [
        f"{logical_id} = {stack.names[logical_id]}"
        for logical_id in template.resources_of_type("AWS::DynamoDB::Table")
    ]
    queues = []
    for logical_id, (local, declared) in stack.queue_visibility().items():
        note = ""
        if stack.config.visibility_timeout is not None:
            note = f"  (visibility {local} s here, {declared or 30} s in AWS: LOCAL_VISIBILITY_TIMEOUT)"
        queues.append(f"{logical_id} = {stack.names[logical_id]}{note}")
    databases = [stack.names[i] for i in template.resources_of_type("AWS::Glue::Database")]
    routes = [f"{route.method:<6} {route.resource}  -> {route.function_id}" for route in api.routes]
    triggers = [
        f"{poller.source.queue_name} -> {poller.source.function_id} (batch {poller.source.batch_size}, "
        f"up to {poller.concurrency} at once in worker processes: LOCAL_CONCURRENCY)"
        for poller in stack.pollers
    ]
    period_note = "set by" if stack.config.schedule_seconds else "changed with"
    schedules = [
        f"{timer.source.function_id} every {timer.period_seconds:g} s "
        f"({timer.source.expression} in AWS; {period_note} LOCAL_SCHEDULE_SECONDS)"
        for timer in stack.timers
    ]
    lines = [
        "",
        "Local ingestion stack is running. Ctrl-C stops it.",
        "",
        f"  API            {stack.api_url}/api/...  (also {stack.stage_url}/api/...)",
        f"  Token          {token}  (tenant {stack.config.dev_tenant})  header: Authorization: Token {token}",
        *(
            f"  Token          {other}  (tenant {tenant}, from DEV_TOKENS)"
            for other, tenant in stack.config.dev_tokens.items()
        ),
        f"  Throttle       {_throttle_note(stack)}",
        f"  AWS endpoint   {stack.aws_endpoint}  (S3, SQS, DynamoDB, Glue; credentials 'testing')",
        f"  Bucket         {bucket}",
        *_block("Tables", tables),
        *_block("Queues", queues),
        *_block("Glue database", databases),
        *_block("Routes", routes),
        *_block("Triggers", triggers),
        *_block("Schedules", schedules),
        "",
        "Create a collection, then append a file to it:",
        f"  curl -s {auth} -H 'Content-Type: application/json' \\",
        f'       -d \'{{"name": "CRM deals"}}\' {stack.api_url}/api/collection',
        f"  curl -s {auth} -F file=@events/deals.csv \\",
        f"       {stack.api_url}/api/collection/<collectionId>/data/deals/append",
        "",
        "A file over the API's ~4.5 MB: ask for an upload URL, then PUT the file to it:",
        f"  curl -s {auth} -X POST \\",
        f"       {stack.api_url}{UPLOAD_URL_ROUTE.replace('<dataType>', 'deals')}",
        '  curl -T export.csv "<uploadUrl>"',
        "",
        "Or drop a file into the bucket (the validator picks it up from the queue):",
        f"  aws --endpoint-url {stack.aws_endpoint} s3 cp events/deals.csv \\",
        f"      s3://{bucket}/{prefix}<collectionId>/deals/",
        "",
    ]
    return "\n".join(lines)


def _throttle_note(stack: LocalStack) -> str:
    if stack.usage_plan is None:
        return "off (LOCAL_THROTTLE=template applies the template's usage plan)"
    return f"{stack.usage_plan.limits.describe()} (LOCAL_THROTTLE)"


def _block(title: str, items: list[str]) -> list[str]:
    if not items:
        return []
    first, *rest = items
    return [f"  {title:<14} {first}", *(f"  {'':<14} {item}" for item in rest)]
