"""The ``ingest`` command.

Exit codes: 0 done (an upload or export that completed, or a request accepted), 1 an upload or
export that ended ``error``, 2 a usage or connection error (or any other refusal of the API),
3 an authentication error (401, or 404 for a collection this token cannot see).
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any, NoReturn

import click

from ingest_client import __version__, transfer, views
from ingest_client.api import DEFAULT_API_URL, Api, ApiError, ConnectionFailed
from ingest_client.render import Renderer, size_text

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_AUTH = 0, 1, 2, 3
EXIT_INTERRUPTED = 130
EPILOG = (
    "Exit codes: 0 done, 1 the upload (or export) ended error, 2 usage or connection error, "
    "3 authentication (401, or a collection this token cannot see)."
)
API_ENV, TOKEN_ENV = "INGEST_API_URL", "INGEST_TOKEN"
META = "ingest_client"


class IngestGroup(click.Group):
    """Turns the API's refusals and unreachable hosts into a message and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ApiError as error:
            if isinstance(error.body, dict) and _settings(ctx).get("as_json"):
                click.echo(_json_text(error.body))
            Renderer.error(f"{error.message} (HTTP {error.status})")
            if error.status == 401:
                Renderer.note(
                    f"check the token (--token or ${TOKEN_ENV}) and the API URL (--api or ${API_ENV})"
                )
            ctx.exit(EXIT_AUTH if error.is_auth else EXIT_USAGE)
        except ConnectionFailed as error:
            Renderer.error(str(error))
            ctx.exit(EXIT_USAGE)
        except KeyboardInterrupt:
            # Only the client stops: an upload or export it was waiting for goes on in the service.
            Renderer.note("interrupted")
            ctx.exit(EXIT_INTERRUPTED)


def _json_text(data: Any) -> str:
    import json

    return json.dumps(data, indent=2, ensure_ascii=False)


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    # Shared by the group and its commands (ctx.meta is one dict for all): a command's own option
    # overrides the group's, which overrides the environment.
    if value not in (None, False):
        ctx.meta.setdefault(META, {})[param.name] = value
    return value


def connection_options(command: Any) -> Any:
    """--api, --token and --json, taken before or after the command's name."""
    options = [
        click.option(
            "--api",
            "api_url",
            metavar="URL",
            expose_value=False,
            callback=_remember,
            help=f"Base URL where /api lives [env {API_ENV}; default {DEFAULT_API_URL}].",
        ),
        click.option(
            "--token", expose_value=False, callback=_remember, help=f"The API token [env {TOKEN_ENV}]."
        ),
        click.option(
            "--json",
            "as_json",
            is_flag=True,
            expose_value=False,
            callback=_remember,
            help="Print the API's JSON instead of tables.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _settings(ctx: click.Context) -> dict[str, Any]:
    return ctx.meta.get(META, {})


def output() -> Renderer:
    return Renderer(as_json=bool(_settings(click.get_current_context()).get("as_json")))


def connect(out: Renderer) -> Api:
    settings = _settings(click.get_current_context())
    url = settings.get("api_url") or os.environ.get(API_ENV) or DEFAULT_API_URL
    token = settings.get("token") or os.environ.get(TOKEN_ENV)
    if not url.startswith(("http://", "https://")):
        raise click.UsageError(f"--api must be an http:// or https:// URL, not {url!r}")
    if not token:
        raise click.UsageError(f"no token: pass --token or set {TOKEN_ENV}")
    return Api(url, token, on_throttled=lambda seconds: out.note(f"throttled: retrying in {seconds:g} s"))


def finish(code: int) -> NoReturn:
    click.get_current_context().exit(code)


collection_option = click.option(
    "--collection", "-c", "collection_id", required=True, metavar="ID", help="The collection's id."
)
type_option = click.option(
    "--type", "data_type", default="deals", show_default=True, help="The data type within the collection."
)
next_token_option = click.option("--next-token", help="Go on from a page's nextToken.")


@click.group(cls=IngestGroup, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ingest")
@connection_options
def cli() -> None:
    """Upload files to the ingestion service, follow them, and read the data back."""


# -- collections -------------------------------------------------------------------------------


@cli.group(cls=IngestGroup)
def collections() -> None:
    """Create, list and delete collections."""


@collections.command("create")
@click.argument("name")
@connection_options
def create_collection(name: str) -> None:
    """Create a collection named NAME and print its id."""
    out = output()
    created = connect(out).create_collection(name)
    if out.as_json:
        out.json(created)
        return
    out.line(f"created collection {created['id']} ({created['name']})")


@collections.command("list")
@click.option("--limit", type=click.IntRange(1, 100), help="Collections per page (API default 20).")
@next_token_option
@connection_options
def list_collections(limit: int | None, next_token: str | None) -> None:
    """List your collections, newest first."""
    out = output()
    page = connect(out).list_collections(limit, next_token)
    out.json(page) if out.as_json else views.collections(out, page)


@collections.command("show")
@click.argument("collection_id", metavar="ID")
@connection_options
def show_collection(collection_id: str) -> None:
    """Show one collection and its row counts."""
    out = output()
    item = connect(out).get_collection(collection_id)
    out.json(item) if out.as_json else views.collection(out, item)


@collections.command("delete")
@click.argument("collection_id", metavar="ID")
@connection_options
def delete_collection(collection_id: str) -> None:
    """Delete collection ID and everything it holds."""
    out = output()
    connect(out).delete_collection(collection_id)
    if out.as_json:
        out.json({"id": collection_id, "deleted": True})
    else:
        out.line(f"deleted collection {collection_id}")


# -- uploads -----------------------------------------------------------------------------------


def _separator(ctx: click.Context, param: click.Parameter, value: str) -> str:
    value = {"tab": "\t", "\\t": "\t"}.get(value, value)
    if value != "auto" and len(value) != 1:
        raise click.BadParameter("one character (tab: 'tab'), or 'auto' to detect it")
    return value


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path))
@collection_option
@type_option
@click.option(
    "--separator", default=",", show_default=True, callback=_separator, help="CSV separator, or auto."
)
@click.option("--max-bad-records", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--allow-field-addition", is_flag=True, help="Add the file's new columns to the data type.")
@click.option("--wait", is_flag=True, help="Wait until the upload is processed; exit 1 if it ends error.")
@click.option("--direct-limit", type=click.IntRange(min=0), hidden=True, help="Largest file posted directly.")
@connection_options
def upload(
    file: Path,
    collection_id: str,
    data_type: str,
    separator: str,
    max_bad_records: int,
    allow_field_addition: bool,
    wait: bool,
    direct_limit: int | None,
) -> None:
    """Upload FILE (CSV, JSON or NDJSON, gzipped or not) to a collection's data type.

    Files up to 4 MiB are posted to the API; larger ones are sent to an upload URL."""
    out = output()
    api = connect(out)
    try:
        limit = transfer.direct_limit(direct_limit)
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    options = transfer.UploadOptions(data_type, separator, max_bad_records, allow_field_addition)
    size = file.stat().st_size
    if transfer.uses_upload_url(size, limit):
        target = transfer.ask_upload_url(api, collection_id, file, options)
        with out.transfer(f"uploading {file.name} to its upload URL", size) as progress:
            transfer.put_file(api, target, file, size, progress)
        request_id = target["id"]
        record = None
        if out.as_json and not wait:
            record = api.upload_request(collection_id, data_type, request_id)
    else:
        form = transfer.multipart_body(file, options)
        with out.transfer(f"uploading {file.name}", len(form[0])) as progress:
            record = transfer.post_body(api, collection_id, data_type, form, progress)
        request_id = record["id"]
    out.line(f"upload request {request_id} queued")
    if not wait:
        if out.as_json:
            out.json(record)
        out.line(f"follow it with: {views.status_command(request_id, collection_id, data_type)}")
        return
    _wait_for_upload(out, api, collection_id, data_type, request_id)


@cli.command()
@click.argument("request_id", metavar="REQUEST_ID")
@collection_option
@type_option
@click.option("--wait", is_flag=True, help="Wait until it is processed; exit 1 if it ends error.")
@connection_options
def status(request_id: str, collection_id: str, data_type: str, wait: bool) -> None:
    """Show an upload request's status and counters (exit 1 if it ended error)."""
    out = output()
    api = connect(out)
    if wait:
        _wait_for_upload(out, api, collection_id, data_type, request_id)
        return
    record = api.upload_request(collection_id, data_type, request_id)
    _show_upload(out, api, record, collection_id, data_type)


def _wait_for_upload(
    out: Renderer, api: Api, collection_id: str, data_type: str, request_id: str
) -> NoReturn:
    with out.processing(f"processing {request_id}") as show:
        record = transfer.poll(lambda: api.upload_request(collection_id, data_type, request_id), show)
    _show_upload(out, api, record, collection_id, data_type)


def _show_upload(
    out: Renderer, api: Api, record: dict[str, Any], collection_id: str, data_type: str
) -> NoReturn:
    if out.as_json:
        out.json(record)
    else:
        request_id = record["id"]
        command = views.errors_command(request_id, collection_id, data_type)
        url = api.url(api.errors_path(collection_id, data_type, request_id))
        views.upload_request(out, record, command, url)
    finish(EXIT_FAILED if record.get("status") == "error" else EXIT_OK)


@cli.command()
@collection_option
@type_option
@click.option("--limit", type=click.IntRange(1, 100), help="Uploads per page (API default 20).")
@next_token_option
@connection_options
def uploads(collection_id: str, data_type: str, limit: int | None, next_token: str | None) -> None:
    """List a data type's upload requests, newest first."""
    out = output()
    page = connect(out).upload_requests(collection_id, data_type, limit, next_token)
    out.json(page) if out.as_json else views.upload_requests(out, page)


@cli.command()
@click.argument("request_id", metavar="REQUEST_ID")
@collection_option
@type_option
@click.option("-o", "--output", "destination", type=click.Path(dir_okay=False, path_type=Path))
@connection_options
def errors(request_id: str, collection_id: str, data_type: str, destination: Path | None) -> None:
    """Every problem an upload found, as CSV (to stdout, or to a file with -o).

    With --json, the same problems as a JSON array of objects."""
    out = output()
    content = connect(out).errors_file(collection_id, data_type, request_id)
    if out.as_json:
        text = content.decode("utf-8", errors="replace")
        problems = list(csv.DictReader(io.StringIO(text)))
        if destination is None:
            out.json(problems)
            return
        content = _json_text(problems).encode()
    if destination is None:
        click.echo(content.decode("utf-8", errors="replace"), nl=False)
        return
    destination.write_bytes(content)
    click.echo(f"wrote {destination} ({size_text(len(content))})", err=True)


# -- reading back ------------------------------------------------------------------------------


@cli.command()
@collection_option
@type_option
@click.option("--limit", type=click.IntRange(1, 1000), help="Rows per page (API default 100).")
@click.option("--id", "key", metavar="KEY", help="Only the row with this key.")
@next_token_option
@connection_options
def rows(
    collection_id: str, data_type: str, limit: int | None, key: str | None, next_token: str | None
) -> None:
    """Read a data type's rows back (in key order when it has a key)."""
    out = output()
    page = connect(out).rows(collection_id, data_type, limit, key, next_token)
    out.json(page) if out.as_json else views.rows(out, page)


@cli.command()
@collection_option
@type_option
@click.option(
    "--format",
    "export_format",
    type=click.Choice(["csv", "ndjson", "parquet"]),
    default="csv",
    show_default=True,
)
@click.option("-o", "--output", "destination", required=True, type=click.Path(dir_okay=False, path_type=Path))
@connection_options
def export(collection_id: str, data_type: str, export_format: str, destination: Path) -> None:
    """Export every row of a data type into one file and download it to -o FILE."""
    out = output()
    api = connect(out)
    queued = api.start_export(collection_id, data_type, export_format)
    out.line(f"export {queued['id']} queued ({export_format})")
    with out.processing(f"exporting {queued['id']}") as show:
        record = transfer.poll(lambda: api.export(collection_id, data_type, queued["id"]), show)
    if record.get("status") != "completed":
        out.json(record) if out.as_json else views.export(out, record)
        finish(EXIT_FAILED)
    description = f"downloading {destination.name}"
    transfer.download(api, record["url"], destination, lambda total: out.transfer(description, total))
    out.line(f"wrote {destination}")
    out.json(record) if out.as_json else views.export(out, record)


def main() -> None:
    cli(prog_name="ingest")
