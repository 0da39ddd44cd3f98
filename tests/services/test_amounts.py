"""The amount grammar (issue 10 item 13): exact reads, reasoned refusals, a seeded fuzz."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from werkzeug.datastructures import MultiDict
from wtforms import DecimalField, Form

from backoffice.services.amounts import MAX_AMOUNT, AmountError, MoneyInput, parse_amount


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1,234.56", "1234.56"),
        ("1234.56", "1234.56"),
        ("¥1,234.56", "1234.56"),
        ("￥1,234.56", "1234.56"),
        ("RMB1,234.56", "1234.56"),
        ("cny 1,234.56", "1234.56"),
        ("人民币1,234.56元", "1234.56"),
        ("１，２３４．５６", "1234.56"),
        ("（１，２３４．５６）", "-1234.56"),
        ("(1,234.56)", "-1234.56"),
        ("-1,234.56", "-1234.56"),
        ("\u22121,234.56", "-1234.56"),
        ("¥-5", "-5.00"),
        ("  1,234.56 元 ", "1234.56"),
        ("\u30001234.56\u3000", "1234.56"),
        ("1,234", "1234.00"),
        ("1234.500", "1234.50"),
        ("0.500", "0.50"),
        ("999,999,999,999.99", "999999999999.99"),
        (1234.56, "1234.56"),
        (Decimal("12.30"), "12.30"),
        (10**11, "100000000000.00"),
    ],
)
def test_accepted_forms(raw, expected):
    """What Chinese ERPs write reads as the exact amount."""
    assert parse_amount(raw) == Decimal(expected)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("1 000,00", "amount_european"),  # issue 10 #13: was stored as 100,000.00
        ("1.234,56", "amount_european"),
        ("1234,56", "amount_european"),
        ("1.234", "amount_european"),  # 1.234 yuan here, 1,234 in Europe
        ("12,34", "amount_european"),
        ("1,2,3", "amount_grouping"),  # issue 10 #13: became 123.00
        ("1,23,456", "amount_grouping"),
        ("1,234.567", "amount_decimals"),
        ("1e5", "amount_exponent"),
        ("1.5E+3", "amount_exponent"),
        ("inf", "amount_not_finite"),
        ("-Infinity", "amount_not_finite"),
        ("NaN", "amount_not_finite"),
        (float("nan"), "amount_not_finite"),
        (Decimal("sNaN"), "amount_not_finite"),
        ("١٢٣", "amount_digits"),  # issue 10 #13: Arabic-Indic digits were accepted
        ("१२३", "amount_digits"),
        ("¹²³", "amount_digits"),
        ("99999999999999999999.99", "amount_too_large"),  # issue 10 #13: OverflowError
        ("1,000,000,000,000.00", "amount_too_large"),
        (1e300, "amount_too_large"),
        (10**20, "amount_too_large"),
        ("-(5)", "amount_sign"),
        ("--5", "amount_sign"),
        ("+5", "amount_not_number"),
        ("5.", "amount_not_number"),
        (".5", "amount_not_number"),
        ("一千元", "amount_not_number"),
        ("¥", "amount_not_number"),
        (True, "amount_not_number"),
    ],
)
def test_refused_forms(raw, code):
    """Ambiguous, inexact, non-finite, foreign-digit or oversize amounts are refused, reasoned."""
    with pytest.raises(AmountError) as caught:
        parse_amount(raw)
    assert caught.value.code == code
    assert caught.value.message  # every code has a reason


def test_negative_zero_is_zero():
    """``-0`` reads as zero, so the receivable rule "greater than zero" refuses it."""
    assert str(parse_amount("-0")) == "0.00" and str(parse_amount(-0.0)) == "0.00"


class _MoneyForm(Form):
    amount = DecimalField(places=2, validators=[MoneyInput()])
    credit = DecimalField(places=2, validators=[MoneyInput(allow_negative=True)])


@pytest.mark.parametrize(
    ("raw", "ok", "expected"),
    [
        ("1234.56", True, "1234.56"),
        ("¥1,234.56", True, "1234.56"),
        ("NaN", False, None),
        ("1E30", False, None),
        ("١٢٣", False, None),
        ("0", False, None),
        ("-5", False, None),
        ("99999999999999999999", False, None),
    ],
)
def test_money_input_validator(app, raw, ok, expected):
    """The WTForms validator applies the import's grammar, maximum and sign rule to forms."""
    with app.test_request_context():
        form = _MoneyForm(MultiDict({"amount": raw, "credit": "-5"}))
        assert form.validate() is ok, form.errors
        assert form.credit.data == Decimal("-5.00")
        if ok:
            assert form.amount.data == Decimal(expected)
        else:
            assert len(form.errors["amount"]) == 1


# -- fuzz ---------------------------------------------------------------------------------------
#
# A reference reader written independently of the implementation (character by character, no
# regular expressions), and a generator of valid forms whose value is known by construction and
# of invalid or random forms. For every string: the implementation and the reference agree on
# accept/refuse, and an accepted string has exactly the reference's value (no silent misread).

FULL = {chr(0xFF10 + i): str(i) for i in range(10)}
FULL.update({"，": ",", "．": ".", "（": "(", "）": ")", "－": "-", "￥": "¥", "\u3000": " "})
FULL["\u2212"] = "-"
SPACE = " \t\u00a0\u2009\u202f"
PREFIXES = ("人民币", "rmb", "cny", "¥")
SUFFIXES = ("人民币", "rmb", "cny", "元")
LIMIT = Decimal("999999999999.99")


def reference(raw: str) -> Decimal | None:
    s = "".join(FULL.get(ch, ch) for ch in raw).strip(SPACE)
    minus = paren = pre = suf = False
    changed = True
    while changed:
        changed = False
        low = s.lower()
        if not minus and s[:1] == "-":
            minus, s, changed = True, s[1:], True
        elif not paren and len(s) >= 2 and s[0] == "(" and s[-1] == ")":
            paren, s, changed = True, s[1:-1], True
        elif not pre and any(low.startswith(p) for p in PREFIXES):
            p = next(p for p in PREFIXES if low.startswith(p))
            pre, s, changed = True, s[len(p) :], True
        elif not suf and any(low.endswith(x) for x in SUFFIXES):
            x = next(x for x in SUFFIXES if low.endswith(x))
            suf, s, changed = True, s[: -len(x)], True
        s = s.strip(SPACE)
    if minus and paren or not s:
        return None
    if any(ch not in "0123456789.," for ch in s):
        return None
    parts = s.split(".")
    if len(parts) > 2:
        return None
    whole, frac = parts[0], parts[1] if len(parts) == 2 else None
    if frac is not None and (frac == "" or "," in frac):
        return None
    if whole == "":
        return None
    if "," in whole:
        groups = whole.split(",")
        if not (1 <= len(groups[0]) <= 3 and groups[0][0] != "0"):
            return None
        if any(len(g) != 3 for g in groups[1:]):
            return None
        whole = "".join(groups)
    elif frac is not None and len(frac) == 3 and len(whole) <= 3 and whole[0] != "0":
        return None  # 1.234: a thousands dot to a European reader
    if frac is not None and len(frac) > 2 and set(frac[2:]) != {"0"}:
        return None
    value = Decimal(whole + "." + (frac or "0")[:2])
    if value > LIMIT:
        return None
    return -value if minus or paren else value


def _digits(s: str, rng: random.Random) -> str:
    """Some digits full-width, at random."""
    return "".join(
        chr(ord(c) + 0xFF10 - 48) if c.isdigit() and rng.random() < 0.2 else c for c in s
    )


def valid_form(rng: random.Random) -> tuple[str, Decimal]:
    cents = rng.choice([rng.randrange(1, 100), rng.randrange(1, 10**6), rng.randrange(1, 10**14)])
    value = Decimal(cents) / 100
    whole, frac = divmod(cents, 100)
    body = f"{whole:,}" if rng.random() < 0.5 else str(whole)
    if frac or rng.random() < 0.5:
        body += "." + f"{frac:02d}" + "0" * rng.choice([0, 0, 2, 3])
    if rng.random() < 0.3:
        body = rng.choice(["¥", "￥", "RMB ", "人民币"]) + body
    if rng.random() < 0.3:
        body += rng.choice(["元", " 元", "RMB"])
    negative = rng.random() < 0.3
    if negative:
        body = rng.choice(["-", "－", "\u2212"]) + body if rng.random() < 0.5 else f"({body})"
    body = _digits(body, rng)
    body = rng.choice(["", " ", "\u3000"]) + body + rng.choice(["", " ", "\t"])
    return body, -value if negative else value


def invalid_form(rng: random.Random) -> str:
    whole = str(rng.randrange(1, 10**7))
    kind = rng.randrange(9)
    if kind == 0:  # European
        grouped = f"{int(whole):,}".replace(",", rng.choice([".", " "]))
        return f"{grouped},{rng.randrange(100):02d}"
    if kind == 1:  # misplaced groups
        cut = rng.randrange(1, len(whole)) if len(whole) > 1 else 1
        return whole[:cut] + "," + whole[cut:] + ("," + whole[:2] if rng.random() < 0.5 else "")
    if kind == 2:  # three or more significant decimals
        return f"{int(whole):,}.{rng.randrange(1, 10)}{rng.randrange(10)}{rng.randrange(1, 10)}"
    if kind == 3:
        return f"{whole}{rng.choice('eE')}{rng.choice(['', '+', '-'])}{rng.randrange(1, 30)}"
    if kind == 4:
        return rng.choice(["inf", "-inf", "Infinity", "nan", "NaN", "sNaN", "+inf"])
    if kind == 5:  # foreign digits
        base = rng.choice([0x0660, 0x06F0, 0x0966, 0x09E6, 0x0E50, 0x1D7CE])
        return "".join(chr(base + int(c)) for c in whole)
    if kind == 6:  # too large
        return str(rng.randrange(10**12, 10**30)) + rng.choice(["", ".00", ".5"])
    if kind == 7:
        return rng.choice(["-", "--", "-(", "(-"]) + whole + rng.choice([")", "", "-"])
    return whole[: rng.randrange(len(whole) + 1)] + rng.choice("xX元e¥()-+") + whole


ALPHABET = list("0123456789,.  -()¥元eE") + ["，", "．", "１", "RMB", "\u3000", "٣"]


def random_form(rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(1, 12)))


def test_fuzz_against_reference():
    """3,000 seeded strings: valid, invalid and random; no crash, no misread, same verdict."""
    rng = random.Random(20261130)
    checked = accepted = 0
    for _ in range(1000):
        cases = [valid_form(rng), (invalid_form(rng), None), (random_form(rng), None)]
        for raw, known in cases:
            expected = reference(raw)
            if known is not None:
                assert expected == known, raw  # the reference itself reads valid forms right
            try:
                got = parse_amount(raw)
            except AmountError:
                got = None
            assert got == expected, f"{raw!r}: implementation {got}, reference {expected}"
            checked += 1
            accepted += got is not None
    assert checked == 3000 and 1000 <= accepted < 3000
    assert parse_amount(str(MAX_AMOUNT)) == MAX_AMOUNT


def test_the_usual_cells_fast_path_reads_what_the_full_grammar_reads(monkeypatch):
    """Issue 13: plain and grouped ASCII amounts skip the full grammar; on any text made of
    digits, commas and dots both give the same amount or the same refusal."""
    import random
    import re

    from backoffice.services import amounts

    def outcome(raw):
        try:
            return str(amounts._from_text(raw))
        except amounts.AmountError as exc:
            return exc.code

    rng = random.Random(13)
    cases = ["0", "1.5", "1,234.56", "001", "0,123", "12,34", "1234,56", "999999999999.99",
             "1000000000000", "999,999,999,999.99", "0000000000000001.10", "1.505", ".5",
             "5."]  # fmt: skip
    digits = "0123456789,."
    cases += ["".join(rng.choice(digits) for _ in range(rng.randint(1, 16))) for _ in range(20_000)]
    fast = [outcome(c) for c in cases]
    monkeypatch.setattr(amounts, "_USUAL", re.compile(r"(?!)"))  # every cell takes the full path
    assert [outcome(c) for c in cases] == fast
    assert fast[:4] == ["0.00", "1.50", "1234.56", "1.00"]
