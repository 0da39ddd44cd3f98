"""A typed amount (issue 10 item 14): a plain number of yuan within the Money column's
capacity; exponents, inf, nan and oversize numbers are refused with a message."""

from __future__ import annotations

from decimal import Decimal

import pytest
from flask_babel import force_locale

from backoffice.services.amount_input import MAX_AMOUNT, AmountError, parse_amount


def test_plain_amounts_are_read_and_rounded_to_cents(app):
    """Thousands separators, spaces and extra decimals are accepted (rounded half up)."""
    assert parse_amount(" 6,000.005 ") == Decimal("6000.01")
    assert parse_amount("-1") == Decimal("-1.00")  # the sign is the caller's rule
    assert parse_amount(str(MAX_AMOUNT)) == MAX_AMOUNT


@pytest.mark.parametrize(
    "raw",
    ["1E+30", "1e400", "1e3", "inf", "-Infinity", "nan", "NaN", "sNaN", "0x10", "１２３", "1.2.3"],
)
def test_exponents_inf_nan_and_other_notations_are_refused(app, raw):
    """Anything but digits with an optional decimal point is refused, in Chinese."""
    with (
        app.test_request_context(),
        force_locale("zh_Hans_CN"),
        pytest.raises(AmountError) as refused,
    ):
        parse_amount(raw)
    assert "不接受科学计数法" in str(refused.value)


@pytest.mark.parametrize("raw", ["9" * 40, "10000000000000000", "-" + "9" * 40])
def test_amounts_over_the_maximum_are_refused(app, raw):
    """A number larger than the column holds is refused with the maximum named."""
    with (
        app.test_request_context(),
        force_locale("zh_Hans_CN"),
        pytest.raises(AmountError) as refused,
    ):
        parse_amount(raw)
    assert str(refused.value) == "金额不能超过 ¥9,999,999,999,999,999.99。"


def test_an_empty_amount_is_refused(app):
    """Nothing typed is its own message."""
    with app.test_request_context(), pytest.raises(AmountError):
        parse_amount("  ")
