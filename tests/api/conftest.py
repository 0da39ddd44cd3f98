"""Fixtures for the API tests: integration tokens and their Authorization header."""

from __future__ import annotations

import itertools

import pytest

from backoffice.api import tokens
from backoffice.api.scopes import SCOPES
from tests import helpers

_n = itertools.count(1)


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture()
def make_token(db):
    """make_token(*scopes, company=None, expires_at=None) → (token, headers)."""

    def make(*scopes: str, company=None, expires_at=None, name: str | None = None):
        company = company or helpers.make_company()
        token, secret = tokens.create_token(
            db.session,
            name=name or f"ERP接口{next(_n)}",
            company_id=company.id,
            scopes=list(scopes) or list(SCOPES),
            expires_at=expires_at,
        )
        db.session.commit()
        return token, bearer(secret)

    return make
