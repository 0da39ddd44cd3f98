"""Errors as ``application/problem+json`` (RFC 9457): a stable ``type`` and a Chinese ``title``.

Each kind of problem has a slug; its ``type`` is ``urn:qingqian:problem:<slug>``, which never
changes, so an integration can branch on it. The title is the Chinese translation of the
English msgid (the API always answers in Chinese, whatever the caller's cookies say).
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:qingqian:problem:"
API_LOCALE = "zh_Hans_CN"

#: slug → (HTTP status, title msgid)
PROBLEMS: dict[str, tuple[int, Any]] = {
    "bad-request": (400, _l("The request could not be understood")),
    "bad-cursor": (400, _l("The page cursor is not valid")),
    "unauthorized": (401, _l("A valid integration token is required")),
    "token-expired": (401, _l("The integration token has expired")),
    "token-revoked": (401, _l("The integration token has been revoked")),
    "forbidden-scope": (403, _l("The token is not allowed to do this")),
    "not-found": (404, _l("No such resource")),
    "method-not-allowed": (405, _l("This address does not accept that method")),
    "idempotency-in-progress": (409, _l("A request with this Idempotency-Key is still running")),
    "too-many-items": (413, _l("Too many items in one batch")),
    "payload-too-large": (413, _l("The request body is too large")),
    "unsupported-media-type": (415, _l("The body must be JSON (application/json)")),
    "invalid-items": (422, _l("Some items are not valid; nothing in the batch was imported")),
    "idempotency-key-reused": (
        422,
        _l("This Idempotency-Key was used for a different request"),
    ),
    "rate-limited": (429, _l("Too many requests for this token")),
    "stored-file-tampered": (500, _l("The stored file failed its integrity check")),
    "server-error": (500, _l("Server error; nothing was changed")),
    "unavailable": (503, _l("A service the API needs is not answering")),
}


class ApiProblem(Exception):
    """Raised anywhere under /api/v1; the blueprint answers it as problem+json."""

    def __init__(
        self,
        slug: str,
        detail: Any = None,
        *,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ):
        super().__init__(slug)
        if slug not in PROBLEMS:
            raise KeyError(slug)
        self.slug, self.detail = slug, detail
        self.headers = headers or {}
        self.extensions = extensions


def problem_body(slug: str, detail: Any = None, **extensions: Any) -> dict[str, Any]:
    status, title = PROBLEMS[slug]
    with force_locale(API_LOCALE):
        body: dict[str, Any] = {"type": TYPE_PREFIX + slug, "title": str(title), "status": status}
        if detail is not None:
            body["detail"] = str(detail)
    body.update(extensions)
    return body


def problem_response(
    slug: str, detail: Any = None, headers: dict[str, str] | None = None, **extensions: Any
) -> Response:
    body = problem_body(slug, detail, **extensions)
    response = Response(
        json.dumps(body, ensure_ascii=False), status=body["status"], mimetype=MEDIA_TYPE
    )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    if body["status"] == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="qingqian-api"'
    return response


def from_exception(exc: ApiProblem) -> Response:
    return problem_response(exc.slug, exc.detail, exc.headers, **exc.extensions)


HTTP_SLUGS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden-scope",
    404: "not-found",
    405: "method-not-allowed",
    413: "payload-too-large",
    415: "unsupported-media-type",
    429: "rate-limited",
}


def slug_for_status(status: int) -> str:
    return HTTP_SLUGS.get(status, "server-error" if status >= 500 else "bad-request")
