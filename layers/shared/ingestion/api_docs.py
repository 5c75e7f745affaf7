"""The API's own description, served by the status function: the OpenAPI document and a
Swagger UI page for it that works offline (its script and styles are inside the page).

``openapi.json`` beside this module is generated from the API functions' routes
(``make openapi``); a test fails when it is out of date.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path


@cache
def openapi_document() -> str:
    """The OpenAPI document, as JSON text."""
    return resources.files("ingestion").joinpath("openapi.json").read_text(encoding="utf-8")


@cache
def swagger_page() -> str:
    """A Swagger UI page for :func:`openapi_document`, with Swagger UI's script and styles inline."""
    from aws_lambda_powertools.event_handler.openapi import swagger_ui
    from aws_lambda_powertools.event_handler.openapi.swagger_ui.html import generate_swagger_html

    assets = Path(swagger_ui.__file__).parent
    return generate_swagger_html(
        # A document holding "</script>" must not end the page's script early.
        openapi_document().replace("</", "<\\/"),
        (assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
        (assets / "swagger-ui.min.css").read_text(encoding="utf-8"),
        swagger_base_url="",
        oauth2_config=None,
        persist_authorization=True,
    )
