"""The Chinese UI (issue 2 item 7): Chinese by default, English per user, a complete catalog."""

from __future__ import annotations

import gettext
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask_admin.contrib.sqla.filters import EnumEqualFilter

from backoffice.labels import LABELS
from backoffice.models import Receivable
from backoffice.models.base import LabeledEnum
from backoffice.models.receivable import ReceivableStatus, ReceivableType
from backoffice.views import REGISTRY
from tests import helpers

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")
POT = ROOT / "translations" / "messages.pot"

# Source strings whose Chinese is the same text (codes and acronyms).
SAME_IN_CHINESE = {"ID", "SHA-256"}


def _read_po(path: Path = PO):
    with path.open("rb") as fh:
        return read_po(fh)


def _text(response) -> str:
    """The visible text of a page, tags stripped and blanks collapsed."""
    html = response.get_data(as_text=True)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _select(html: str, name: str) -> str:
    match = re.search(rf'<select[^>]*name="{name}".*?</select>', html, re.S)
    assert match, f"no <select name={name}> on the page"
    return match.group(0)


@pytest.fixture()
def login_client(app, db):
    """Log a fresh client (one app context per request, as in production) in as a new user.

    The shared ``client`` keeps one app context for the whole test, and Flask-Babel caches the
    locale in it, so the first request's language would stick.
    """

    def login(*roles: str, **kw):
        client = helpers.fresh_client(app)
        user = helpers.make_user(*roles, **kw)
        helpers.login(client, user.username)
        return client, user

    return login


def _all_labels():
    """Every translatable label the UI shows: field labels, enum labels, menu entries."""
    yield from LABELS.values()
    for cls in LabeledEnum.__subclasses__():
        for member in cls:
            if not isinstance(member.label, str):  # str labels (e.g. "AAA") are not translated
                yield member.label
    for entry in REGISTRY:
        yield entry.name
        yield entry.category


def test_receivable_list_is_chinese_by_default(login_client):
    """A finance user on the default locale gets Chinese menus, headers, enum labels, chrome."""
    client, _user = login_client("finance")
    record = helpers.make_receivable(doc_type=ReceivableType.PRODUCT)
    response = client.get("/admin/receivable/")
    assert response.status_code == 200
    text = _text(response)
    for chinese in ("应收账款", "台账", "到期日", "未收余额", "事业部", "账龄区间"):
        assert chinese in text, chinese
    for chrome in ("列表", "创建", "搜索", "添加筛选器"):  # Flask-Admin's own zh_Hans_CN catalog
        assert chrome in text, chrome
    for english in ("Due date", "Product payment", "Outstanding", "Receivables", "Ledger"):
        assert english not in text, english
    # The document type and status are on 详情 (the list keeps to ten columns).
    details = _text(client.get(f"/admin/receivable/details/?id={record.id}"))
    for chinese in ("产品货款", "未结清"):
        assert chinese in details, chinese


def test_user_with_english_locale_sees_english(login_client):
    """A user whose locale is 'en' gets the same page in English, Flask-Admin's chrome included."""
    client, _user = login_client("finance", locale="en")
    helpers.make_receivable(doc_type=ReceivableType.PRODUCT)
    response = client.get("/admin/receivable/")
    assert response.status_code == 200
    text = _text(response)
    for english in ("Receivables", "Ledger", "Due date", "Outstanding", "Product payment"):
        assert english in text, english
    for chrome in ("List", "Create", "Search"):
        assert chrome in text, chrome
    for chinese in ("应收账款", "到期日", "产品货款", "列表", "搜索"):
        assert chinese not in text, chinese


def test_language_choice_on_account_page_switches_the_ui(login_client, db):
    """Choosing English on /account switches the menus from Chinese to English."""
    client, user = login_client("finance")
    assert "应收账款" in _text(client.get("/admin/"))
    token = helpers.csrf_token(client, "/account")
    response = client.post(
        "/account", data={"form": "language", "lang-locale": "en", "lang-csrf_token": token}
    )
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.locale == "en"
    text = _text(client.get("/admin/"))
    assert "Receivables" in text and "应收账款" not in text


def test_enum_select_on_new_page_has_chinese_labels_without_warnings(login_client):
    """/admin/receivable/new/ renders (no WTForms DeprecationWarning) with Chinese enum options."""
    client, _user = login_client("finance")
    response = client.get("/admin/receivable/new/")
    assert response.status_code == 200
    select = _select(response.get_data(as_text=True), "doc_type")
    options = dict(re.findall(r'<option[^>]*value="([^"]+)"[^>]*>([^<]*)</option>', select))
    assert options == {"product": "产品货款", "project": "工程款", "freight": "代垫运费"}


def test_enum_select_on_edit_page_preselects_the_stored_value(login_client):
    """The edit form selects the receivable's own type, not the first option."""
    client, _user = login_client("finance")
    rec = helpers.make_receivable(doc_type=ReceivableType.FREIGHT)
    response = client.get(f"/admin/receivable/edit/?id={rec.id}")
    assert response.status_code == 200
    select = _select(response.get_data(as_text=True), "doc_type")
    selected = re.findall(r'<option[^>]*selected[^>]*value="([^"]+)"', select)
    assert selected == ["freight"]


def test_enum_select_saves_the_chosen_member(login_client, db):
    """Posting the edit form stores the chosen enum member."""
    client, _user = login_client("finance")
    rec = helpers.make_receivable(doc_type=ReceivableType.PRODUCT)
    url = f"/admin/receivable/edit/?id={rec.id}"
    html = client.get(url).get_data(as_text=True)
    data = {
        "csrf_token": helpers.CSRF_RE.search(html).group(1)
        or helpers.CSRF_RE.search(html).group(2),
        "customer": str(rec.customer_id),
        "company": str(rec.company_id),
        "sales_unit": str(rec.sales_unit_id),
        "doc_no": rec.doc_no,
        "doc_type": "project",
        "amount": "1000.00",
        "currency": "CNY",
        "due_date": rec.due_date.isoformat(),
    }
    response = client.post(url, data=data)
    assert response.status_code == 302, _text(response)[:2000]
    db.session.expire_all()
    stored = db.session.get(Receivable, rec.id)
    assert stored.doc_type is ReceivableType.PROJECT
    assert stored.amount == Decimal("1000.00")


def test_enum_filter_uses_chinese_labels_and_filters(app, login_client):
    """The status filter offers Chinese labels and picking one filters the list."""
    client, _user = login_client("finance")
    open_rec = helpers.make_receivable(doc_no="OPEN-1")
    helpers.make_receivable(
        doc_no="SETTLED-1", status=ReceivableStatus.SETTLED, paid_amount="1000.00"
    )
    view = next(v for v in app.extensions["admin"][0]._views if v.endpoint == "receivable")
    arg = next(
        key
        for key, (_index, flt) in view._filter_args.items()
        if isinstance(flt, EnumEqualFilter) and flt.column.key == "status"
    )
    html = client.get("/admin/receivable/").get_data(as_text=True)
    assert '["SETTLED", "\\u5df2\\u7ed3\\u6e05"]' in html  # 已结清, JSON-escaped
    response = client.get(f"/admin/receivable/?flt1_{arg}=SETTLED")
    assert response.status_code == 200
    text = _text(response)
    assert "SETTLED-1" in text and open_rec.doc_no not in text


def test_every_label_menu_and_enum_value_has_a_chinese_translation(app):
    """Field labels, enum labels, menu names and categories all render in Chinese."""
    untranslated = []
    with app.test_request_context("/"):
        for label in _all_labels():
            source = label._args[0] if hasattr(label, "_args") else str(label)
            if source not in SAME_IN_CHINESE and str(label) == source:
                untranslated.append(source)
    assert untranslated == []


def test_gettext_outside_a_request_uses_the_default_locale(app):
    """CLI commands and jobs (app context, no request) get Chinese instead of an error."""
    with app.app_context():
        assert str(ReceivableType.PRODUCT.label) == "产品货款"
        assert str(LABELS["due_date"]) == "到期日"


def test_catalog_has_no_untranslated_or_fuzzy_entries():
    """Every msgid of the .po has a Chinese msgstr and none is fuzzy or obsolete."""
    catalog = _read_po()
    bad = [
        message.id
        for message in catalog
        if message.id
        and (
            message.fuzzy
            or not (all(message.string) if isinstance(message.string, tuple) else message.string)
        )
    ]
    assert bad == []
    assert not catalog.obsolete


def test_catalog_covers_the_template_and_keeps_placeholders():
    """Every msgid extracted into messages.pot is in the .po, with matching %(name)s fields."""
    template_ids = {m.id for m in _read_po(POT) if m.id}
    catalog = _read_po()
    assert template_ids - {m.id for m in catalog if m.id} == set()
    problems = [(message.id, errors) for message, errors in catalog.check() if errors]
    assert problems == []


def test_compiled_mo_is_up_to_date_with_the_po():
    """The committed .mo holds exactly what compiling the .po gives."""
    compiled = io.BytesIO()
    write_mo(compiled, _read_po())
    expected = gettext.GNUTranslations(io.BytesIO(compiled.getvalue()))
    with MO.open("rb") as fh:
        committed = gettext.GNUTranslations(fh)
    assert committed._catalog == expected._catalog
    assert committed.info() == expected.info()


@pytest.mark.parametrize("msgid", ["Receivables", "Due date", "Shipment hold", "Audit log"])
def test_core_terms_follow_the_glossary(msgid):
    """Key domain terms use the SPEC §1 glossary's Chinese."""
    glossary = {
        "Receivables": "应收账款",
        "Due date": "到期日",
        "Shipment hold": "停货",
        "Audit log": "审计日志",
    }
    with MO.open("rb") as fh:
        assert gettext.GNUTranslations(fh).gettext(msgid) == glossary[msgid]
