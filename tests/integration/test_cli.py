"""The ``ingest`` command-line client against ``python -m local_stack`` over HTTP: each command, both
upload routes, ``--json``, the exit codes, and its plain output off a terminal."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner, Result
from ingest_client.cli import cli

from tests.conftest import free_port
from tests.integration.running_service import ROOT, TOKEN, Service, running_service

SAMPLE = ROOT / "events" / "deals.csv"
INGEST = ROOT / ".venv" / "bin" / "ingest"
OTHER_TOKEN = "cli-other-tenant-token"
ANSI = re.compile(r"\x1b\[")
BAR_CHARACTERS = ("━", "█", "╸", "╺")


@pytest.fixture(scope="module")
def service() -> Iterator[Service]:
    with running_service(DEV_TOKENS=f"{OTHER_TOKEN}=cli-other-tenant") as running:
        yield running


def ingest(service: Service, *args: str, token: str = TOKEN, **environment: str) -> Result:
    """``ingest ARGS`` in this process, its stdout not a terminal, connected through the environment."""
    env = {"INGEST_API_URL": service.url, "INGEST_TOKEN": token, "NO_COLOR": None} | environment
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def json_of(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def gateway_logged(service: Service, line: str, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(line in logged for logged in list(service.output)):
            return True
        time.sleep(0.1)
    return False


def deals_with_errors(tmp_path: Path) -> Path:
    """The sample with two bad values: a negative one on line 3 and one that is no number on line 4."""
    header, first, second, third, *rest = SAMPLE.read_text().strip().splitlines()
    columns = header.split(",")
    value = columns.index("value")

    def with_value(line: str, text: str) -> str:
        cells = next(csv.reader([line]))
        cells[value] = text
        out = io.StringIO()
        csv.writer(out, lineterminator="").writerow(cells)
        return out.getvalue()

    path = tmp_path / "bad-deals.csv"
    path.write_text(
        "\n".join([header, first, with_value(second, "-5"), with_value(third, "lots"), *rest]) + "\n"
    )
    return path


@pytest.fixture(scope="module")
def loaded(service: Service) -> str:
    """A collection holding the sample's five deals, uploaded by the client."""
    collection_id = service.create_collection("cli loaded")
    result = ingest(service, "upload", str(SAMPLE), "--collection", collection_id, "--wait")
    assert result.exit_code == 0, result.output
    return collection_id


# -- collections -------------------------------------------------------------------------------


def test_collections_are_created_listed_and_deleted(service: Service):
    created = ingest(service, "collections", "create", "cli crm")
    assert created.exit_code == 0, created.output
    collection_id = re.fullmatch(r"created collection (\w+) \(cli crm\)\n", created.stdout).group(1)

    listed = ingest(service, "collections", "list", "--limit", "100")
    deleted = ingest(service, "collections", "delete", collection_id)
    after = json_of(ingest(service, "collections", "list", "--limit", "100", "--json"))

    assert listed.exit_code == 0
    assert re.search(rf"^{collection_id}\s+cli crm\s+\d{{4}}-", listed.stdout, re.MULTILINE), listed.stdout
    assert (deleted.exit_code, deleted.stdout) == (0, f"deleted collection {collection_id}\n")
    assert collection_id not in [item["id"] for item in after["items"]]
    gone = requests.get(f"{service.url}/api/collection/{collection_id}", headers=service.headers, timeout=30)
    assert gone.status_code == 404


def test_collections_json_is_the_apis_json(service: Service):
    created = json_of(ingest(service, "collections", "create", "cli json", "--json"))
    shown = json_of(ingest(service, "--json", "collections", "show", created["id"]))
    listed = json_of(ingest(service, "collections", "list", "--json", "--limit", "100"))

    assert set(created) == {"id", "name", "createdAt", "dataTypes"}
    assert shown == created
    assert created in listed["items"]
    assert set(listed) == {"items", "nextToken"}


# -- uploads -----------------------------------------------------------------------------------


def test_a_small_file_is_posted_to_the_append_route_and_waited_for(service: Service):
    collection_id = service.create_collection("cli direct")

    result = ingest(service, "upload", str(SAMPLE), "--collection", collection_id, "--wait")

    assert result.exit_code == 0, result.output
    assert gateway_logged(service, f"POST /api/collection/{collection_id}/data/deals/append -> 202")
    assert not gateway_logged(service, f"{collection_id}/data/deals/append/upload-url", timeout=0.5)
    assert re.search(r"^upload \w+: completed$", result.stdout, re.MULTILINE), result.stdout
    assert re.search(r"^rows inserted\s+5$", result.stdout, re.MULTILINE)
    assert re.search(r"^processed lines\s+5$", result.stdout, re.MULTILINE)
    url = f"{service.url}/api/collection/{collection_id}"
    collection = requests.get(url, headers=service.headers, timeout=30).json()
    assert collection["dataTypes"]["deals"]["rowCount"] == 5


@pytest.mark.parametrize("how", ["option", "environment"])
def test_a_file_over_the_direct_limit_is_put_to_an_upload_url(service: Service, how: str):
    collection_id = service.create_collection("cli upload url")
    args = ["upload", str(SAMPLE), "-c", collection_id, "--wait", "--json"]
    environment = {}
    if how == "option":
        args += ["--direct-limit", "1000"]
    else:
        environment["INGEST_DIRECT_LIMIT_BYTES"] = "1000"

    record = json_of(ingest(service, *args, **environment))

    assert gateway_logged(
        service, f"POST /api/collection/{collection_id}/data/deals/append/upload-url -> 201"
    )
    assert f"POST /api/collection/{collection_id}/data/deals/append -> 202" not in "".join(service.output)
    assert (record["status"], record["rowsInserted"]) == ("completed", 5), record
    assert record["sizeBytes"] == SAMPLE.stat().st_size


@pytest.mark.parametrize(("limit_offset", "route"), [(0, "append -> 202"), (-1, "append/upload-url -> 201")])
def test_the_route_is_chosen_by_the_files_size_at_the_limit(service: Service, limit_offset: int, route: str):
    collection_id = service.create_collection("cli threshold")
    limit = SAMPLE.stat().st_size + limit_offset

    result = ingest(service, "upload", str(SAMPLE), "-c", collection_id, INGEST_DIRECT_LIMIT_BYTES=str(limit))

    assert result.exit_code == 0, result.output
    assert gateway_logged(service, f"POST /api/collection/{collection_id}/data/deals/{route}")
    assert re.search(r"^upload request \w+ queued$", result.stdout, re.MULTILINE)
    assert "ingest status " in result.stdout


def test_an_upload_that_ends_error_exits_1_with_its_first_problems_and_the_errors_file(
    service: Service, tmp_path: Path
):
    collection_id = service.create_collection("cli errors")
    result = ingest(service, "upload", str(deals_with_errors(tmp_path)), "-c", collection_id, "--wait")

    assert result.exit_code == 1, result.output
    assert re.search(r"^upload \w+: error$", result.stdout, re.MULTILINE)
    assert re.search(r"^line\s+column\s+value\s+message$", result.stdout, re.MULTILINE), result.stdout
    assert re.search(r"^3\s+value\s+-5\s+\S", result.stdout, re.MULTILINE), result.stdout
    assert re.search(r"^4\s+value\s+lots\s+\S", result.stdout, re.MULTILINE), result.stdout
    command = re.search(r"all 2 problems as CSV: (ingest errors .*)$", result.stdout, re.MULTILINE).group(1)
    assert "/errors with the token" in result.stdout

    # The command it names writes every problem as CSV.
    target = tmp_path / "all-errors.csv"
    words = command.split()[1:]
    words[words.index("-o") + 1] = str(target)
    written = ingest(service, *words)
    assert written.exit_code == 0, written.output
    lines = list(csv.reader(io.StringIO(target.read_text())))
    assert lines[0] == ["line", "row", "column", "value", "message"]
    assert [line[:4] for line in lines[1:]] == [["3", "", "value", "-5"], ["4", "", "value", "lots"]]
    as_json = json_of(ingest(service, *words[: words.index("-o")], "--json"))
    assert [(item["line"], item["column"], item["value"]) for item in as_json] == [
        ("3", "value", "-5"),
        ("4", "value", "lots"),
    ]


def test_max_bad_records_lets_an_upload_complete_without_its_bad_rows(service: Service, tmp_path: Path):
    collection_id = service.create_collection("cli tolerant")
    bad = str(deals_with_errors(tmp_path))

    record = json_of(
        ingest(service, "upload", bad, "-c", collection_id, "--max-bad-records", "2", "--wait", "--json")
    )

    assert (record["status"], record["rowsInserted"], record["rowsRejected"]) == ("completed", 3, 2)


def test_status_shows_a_request_and_exits_by_its_outcome(service: Service, tmp_path: Path):
    collection_id = service.create_collection("cli status")
    queued = json_of(ingest(service, "upload", str(SAMPLE), "-c", collection_id, "--json"))
    failed = json_of(
        ingest(service, "upload", str(deals_with_errors(tmp_path)), "-c", collection_id, "--json")
    )

    waited = ingest(service, "status", queued["id"], "-c", collection_id, "--wait")
    again = json_of(ingest(service, "status", queued["id"], "-c", collection_id, "--json"))
    errored = ingest(
        service, "status", failed["id"], "--collection", collection_id, "--type", "deals", "--wait"
    )

    assert queued["status"] == "queued"
    assert waited.exit_code == 0, waited.output
    assert f"upload {queued['id']}: completed" in waited.stdout
    assert (again["id"], again["status"], again["rowsInserted"]) == (queued["id"], "completed", 5)
    assert errored.exit_code == 1
    assert f"upload {failed['id']}: error" in errored.stdout


def test_uploads_lists_a_data_types_requests_newest_first(service: Service, loaded: str):
    second = json_of(ingest(service, "upload", str(SAMPLE), "-c", loaded, "--wait", "--json"))

    table = ingest(service, "uploads", "--collection", loaded)
    page = json_of(ingest(service, "uploads", "--collection", loaded, "--json"))

    assert table.exit_code == 0
    assert re.search(rf"^{second['id']}\s+completed\s+deals\.csv\s+2\.4 kB\s", table.stdout, re.MULTILINE)
    assert len(re.findall(r"^\w{26}\s+completed", table.stdout, re.MULTILINE)) == 2
    assert page["items"][0]["id"] == second["id"]
    assert [item["status"] for item in page["items"]] == ["completed", "completed"]


# -- reading back ------------------------------------------------------------------------------


def test_rows_are_shown_paged_and_by_key(service: Service, loaded: str):
    page = ingest(service, "rows", "-c", loaded, "--limit", "2")
    token = re.search(r"^more: add --next-token (\S+)$", page.stdout, re.MULTILINE).group(1)
    following = json_of(
        ingest(service, "rows", "-c", loaded, "--limit", "2", "--next-token", token, "--json")
    )
    one = json_of(ingest(service, "rows", "-c", loaded, "--id", "3", "--json"))

    assert page.exit_code == 0
    assert re.findall(r"^id\s+(\S+)$", page.stdout, re.MULTILINE) == ["1", "2"]
    assert re.search(r"^companyTechnologies\s+AI;Machine Learning;Web$", page.stdout, re.MULTILINE)
    assert [row["id"] for row in following["rows"]] == ["3", "4"]
    assert [row["id"] for row in one["rows"]] == ["3"]
    assert isinstance(one["rows"][0]["value"], float)


def test_export_downloads_the_data_types_rows_to_a_file(service: Service, loaded: str, tmp_path: Path):
    target = tmp_path / "deals-export.csv"

    result = ingest(service, "export", "-c", loaded, "--format", "csv", "-o", str(target))

    assert result.exit_code == 0, result.output
    assert re.search(r"^export \w+: completed$", result.stdout, re.MULTILINE)
    assert re.search(r"^rows\s+5$", result.stdout, re.MULTILINE)
    exported = list(csv.DictReader(io.StringIO(target.read_text())))
    assert sorted(row["id"] for row in exported) == ["1", "2", "3", "4", "5"]
    assert not target.with_name(target.name + ".part").exists()


def test_export_json_is_the_final_export_record(service: Service, loaded: str, tmp_path: Path):
    target = tmp_path / "deals.ndjson"

    record = json_of(
        ingest(service, "export", "-c", loaded, "--format", "ndjson", "-o", str(target), "--json")
    )

    assert (record["status"], record["format"], record["rowCount"]) == ("completed", "ndjson", 5)
    assert sorted(json.loads(line)["id"] for line in target.read_text().splitlines()) == list("12345")


# -- exit codes and errors ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["upload", str(SAMPLE), "-c", "x", "--separator", "ab"],
        ["upload", str(SAMPLE)],
        ["upload", "no-such-file.csv", "-c", "x"],
        ["rows", "-c", "x", "--limit", "0"],
        ["export", "-c", "x"],
        ["collections", "frobnicate"],
    ],
)
def test_usage_errors_exit_2(service: Service, args: list[str]):
    result = ingest(service, *args)

    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output


def test_an_unreachable_api_exits_2_saying_so(service: Service):
    result = ingest(service, "collections", "list", INGEST_API_URL=f"http://127.0.0.1:{free_port()}")

    assert result.exit_code == 2
    assert result.stderr.startswith("error: cannot reach the API at http://127.0.0.1:")
    assert "Traceback" not in result.output


def test_no_token_is_a_usage_error(service: Service):
    result = ingest(service, "collections", "list", INGEST_TOKEN="")

    assert result.exit_code == 2
    assert "no token: pass --token or set INGEST_TOKEN" in result.stderr


def test_an_invalid_field_is_shown_as_the_apis_message_and_exits_2(service: Service):
    result = ingest(service, "uploads", "-c", "not-an-id")

    assert result.exit_code == 2
    assert result.stderr.startswith("error: invalid request: check collectionId: collectionId must be an id")
    assert "(HTTP 422)" in result.stderr


def test_an_unknown_token_exits_3(service: Service):
    result = ingest(service, "collections", "list", token="not-a-token")

    assert result.exit_code == 3
    assert "missing or unknown token" in result.stderr
    assert "(HTTP 401)" in result.stderr
    assert result.stdout == ""


def test_another_tenants_collection_exits_3_and_json_prints_the_error_body(service: Service, loaded: str):
    plain = ingest(service, "rows", "-c", loaded, token=OTHER_TOKEN)
    as_json = ingest(service, "upload", str(SAMPLE), "-c", loaded, "--json", token=OTHER_TOKEN)

    assert plain.exit_code == 3
    assert f"collection '{loaded}' does not exist" in plain.stderr
    assert as_json.exit_code == 3
    body = json.loads(as_json.stdout)
    assert set(body) == {"message", "errors"}
    assert body["message"].startswith(f"collection '{loaded}' does not exist")


def test_connection_options_override_the_environment_before_or_after_the_command(service: Service):
    bad_env = {"INGEST_API_URL": "http://127.0.0.1:9", "INGEST_TOKEN": "not-a-token"}

    before = ingest(
        service, "--api", service.url, "--token", TOKEN, "collections", "list", "--json", **bad_env
    )
    after = ingest(
        service, "collections", "list", "--api", service.url, "--token", TOKEN, "--json", **bad_env
    )

    assert json_of(before)["items"] == json_of(after)["items"]


def test_an_upload_id_that_does_not_exist_exits_2_with_the_apis_message(service: Service, loaded: str):
    result = ingest(service, "status", "01jd3k8a2b3c4d5e6f7g8h9j0k", "-c", loaded)

    assert result.exit_code == 2
    assert "upload request '01jd3k8a2b3c4d5e6f7g8h9j0k' does not exist" in result.stderr


# -- the installed command, off and on a terminal ----------------------------------------------


def run_installed(
    service: Service, args: list[str], *, terminal: bool, **environment: str
) -> tuple[int, str]:
    """``.venv/bin/ingest ARGS`` as a subprocess, its stdout a pipe or a pseudo-terminal."""
    env = os.environ | {"INGEST_API_URL": service.url, "INGEST_TOKEN": TOKEN, "COLUMNS": "120"} | environment
    if "NO_COLOR" not in environment:
        env.pop("NO_COLOR", None)
    if not terminal:
        command = [str(INGEST), *args]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)  # noqa: S603
        return done.returncode, done.stdout + done.stderr
    leader, follower = pty.openpty()
    process = subprocess.Popen([str(INGEST), *args], env=env, stdout=follower, stderr=follower)  # noqa: S603
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closes with the process
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return process.wait(timeout=120), b"".join(chunks).decode("utf-8", errors="replace")


def test_installed_command_prints_plain_lines_when_stdout_is_not_a_terminal(service: Service):
    collection_id = service.create_collection("cli pipe")

    code, output = run_installed(
        service, ["upload", str(SAMPLE), "-c", collection_id, "--wait"], terminal=False
    )

    assert code == 0, output
    assert not ANSI.search(output), output
    assert not any(character in output for character in BAR_CHARACTERS), output
    assert re.search(r"^uploading deals\.csv: \d+\.\d kB$", output, re.MULTILINE), output
    assert re.search(r"^  done: \d+\.\d kB in \d+\.\d s$", output, re.MULTILINE), output
    assert re.search(r"^processing \w+: completed, 5 lines processed$", output, re.MULTILINE), output


def test_installed_command_draws_bars_on_a_terminal_unless_no_color(service: Service):
    collection_id = service.create_collection("cli terminal")
    args = ["upload", str(SAMPLE), "-c", collection_id, "--wait"]

    code, fancy = run_installed(service, args, terminal=True)
    no_color_code, plain = run_installed(service, args, terminal=True, NO_COLOR="1")

    assert (code, no_color_code) == (0, 0), fancy + plain
    assert ANSI.search(fancy)
    assert "━" in fancy
    assert not ANSI.search(plain), plain
    assert not any(character in plain for character in BAR_CHARACTERS), plain
    assert "  done: " in plain


def test_the_installed_client_imports_nothing_of_the_service():
    probe = (
        "import sys, ingest_client.cli, ingest_client.api, ingest_client.transfer;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('ingestion', 'local_stack', 'boto3', 'botocore', 'pyarrow')))"
    )
    python = ROOT / ".venv" / "bin" / "python"
    done = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, timeout=60, check=True)  # noqa: S603

    assert done.stdout.strip() == "[]"


# -- throttling --------------------------------------------------------------------------------


def test_a_429_is_retried_after_its_retry_after():
    # One request every two seconds, no burst beyond one: the second command is throttled at once.
    with running_service(LOCAL_THROTTLE="rate=0.5,burst=1") as throttled:
        first = ingest(throttled, "collections", "create", "throttled", "--json")
        started = time.monotonic()
        second = ingest(throttled, "collections", "list", "--json")
        waited = time.monotonic() - started

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert "throttled: retrying in 1 s" in second.stderr
    assert waited >= 1
    assert [item["name"] for item in json.loads(second.stdout)["items"]] == ["throttled"]
