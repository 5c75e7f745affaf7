import pytest

from ingestion.tokens import hash_token, token_from_authorization


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Token my-secret-token", "my-secret-token"),
        ("Bearer my-secret-token", "my-secret-token"),
        ("token my-secret-token", "my-secret-token"),
        ("BEARER   my-secret-token  ", "my-secret-token"),
    ],
)
def test_token_and_bearer_schemes_are_both_accepted(header, token):
    assert token_from_authorization(header) == token


@pytest.mark.parametrize("header", [None, "", "my-secret-token", "Basic dXNlcjpwYXNz", "Token", "Token a b"])
def test_missing_or_malformed_authorization_yields_no_token(header):
    assert token_from_authorization(header) is None


def test_tokens_are_stored_as_their_sha256_digest():
    assert hash_token("dev-token") == "c91cbbedf8c712e8e2b7517ddeca8fe4fde839ebd8339e0b2001363002b37712"
