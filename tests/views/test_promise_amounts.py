"""The case file's promise form (issue 10 item 14): amounts such as ``1E+30``, ``1e400`` or
40 nines are refused with a clear Chinese message (400), never a 500, and nothing is saved;
the maximum itself is accepted."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from backoffice.models.case import PaymentPromise
from tests import helpers
from tests.views.test_casefile import (  # noqa: F401 (fixture)
    as_user,
    file_url,
    filed_case,
    post,
    world,
)

# The import's amount grammar (backoffice/services/amounts.py), in Chinese.
EXPONENT = "不接受科学计数法（如 1E5）"
NOT_FINITE = "不是有限的金额"
TOO_LARGE = "金额超过上限"


def promises(db) -> int:
    return db.session.scalar(select(func.count()).select_from(PaymentPromise))


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("1E+30", EXPONENT),
        ("1e400", EXPONENT),
        ("Infinity", NOT_FINITE),
        ("NaN", NOT_FINITE),
        ("9" * 40, TOO_LARGE),
        ("1000000000000", TOO_LARGE),
    ],
)
def test_promise_amount_is_refused_with_a_message(client, db, world, amount, message):  # noqa: F811
    """Each of these is a 400 with the Chinese reason on the page; no promise is recorded."""
    case = filed_case(db, world)
    collector = helpers.make_user("collector", units=[world["east"]])  # the Chinese UI
    client = as_user(client, collector)
    url = file_url(case)
    response = post(client, f"{url}/promise", {"amount": amount, "due_on": "2026-08-31"}, url)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert promises(db) == 0


def test_the_maximum_amount_is_recorded(client, db, world):  # noqa: F811
    """The largest amount the grammar accepts is recorded exactly."""
    case = filed_case(db, world)
    client = as_user(client, world["collector"])
    url = file_url(case)
    data = {"amount": "999,999,999,999.99", "due_on": "2026-08-31"}
    assert post(client, f"{url}/promise", data, url).status_code == 303
    db.session.expire_all()
    promise = db.session.scalar(select(PaymentPromise))
    assert promise.amount == Decimal("999999999999.99")
