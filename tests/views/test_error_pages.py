"""Error pages (issue 11): 403, 404, 405, CSRF, 413 and 500 answer in Chinese inside the layout,
never with Werkzeug's bare English page or a traceback."""

from __future__ import annotations

import re

import pytest

from backoffice import create_app
from backoffice.config import TestConfig
from tests import helpers

WERKZEUG_WORDS = ("The requested URL", "Internal Server Error", "Traceback", "werkzeug")


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def _assert_plain_chinese(response, status: int, words: str) -> None:
    assert response.status_code == status
    text = _text(response)
    assert words in text, text[:400]
    for english in WERKZEUG_WORDS:
        assert english not in text


def test_another_units_record_is_a_chinese_404_inside_the_layout(client, login_as, db):
    """A collector asking for another unit's receivable gets a Chinese 404 page with the menu."""
    mine, other = helpers.make_unit(), helpers.make_unit()
    record = helpers.make_receivable(helpers.make_customer(other))
    login_as("collector", units=[mine])
    response = client.get(f"/admin/receivable/details/?id={record.id}")
    _assert_plain_chinese(response, 404, "未找到")
    html = response.get_data(as_text=True)
    assert "navbar" in html  # inside the product's layout, with the user's menu
    assert "退出" in _text(response)  # the signed-in user's log-out button


def test_unknown_address_is_a_chinese_404(client, login_as):
    """An address that does not exist answers 404 in Chinese."""
    login_as("finance")
    _assert_plain_chinese(client.get("/admin/no-such-page/"), 404, "未找到")


def test_anonymous_404_uses_the_plain_layout(client, db):
    """A stranger's 404 is Chinese too, on the sign-in layout (no menu to show)."""
    response = client.get("/no-such-page")
    _assert_plain_chinese(response, 404, "未找到")
    assert "navbar" not in response.get_data(as_text=True)


def test_forbidden_is_a_chinese_403_inside_the_layout(client, login_as):
    """A collector opening the user list is refused in Chinese, inside the layout."""
    login_as("collector")
    response = client.get("/admin/user/")
    _assert_plain_chinese(response, 403, "无权")
    assert "navbar" in response.get_data(as_text=True)


def test_wrong_method_is_a_chinese_405(client, login_as):
    """GET on a POST-only address answers 405 in Chinese."""
    login_as("finance")
    _assert_plain_chinese(client.get("/logout"), 405, "不接受")


def test_missing_csrf_token_is_a_chinese_400_that_says_what_to_do(client, login_as):
    """A form sent without its CSRF token is refused with a Chinese explanation."""
    login_as("finance")
    response = client.post("/logout", data={})
    _assert_plain_chinese(response, 400, "重新提交")


@pytest.fixture()
def crashing_app(database_url, tmp_path):
    """A separate app whose one extra route raises, with exceptions handled as in production."""

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = database_url
        VAR_DIR = tmp_path
        PROPAGATE_EXCEPTIONS = False
        MAX_CONTENT_LENGTH = 1024

    app = create_app(Config)

    @app.route("/boom")
    def boom():
        raise RuntimeError("secret internal detail")

    @app.route("/upload", methods=["POST"])
    def upload():
        from flask import request

        return str(len(request.files))

    yield app
    from backoffice.extensions import db

    with app.app_context():
        db.engine.dispose()


def test_server_error_shows_a_chinese_page_and_no_traceback(crashing_app):
    """An unexpected exception gives a Chinese 500 page with the time, never the exception."""
    response = crashing_app.test_client().get("/boom")
    _assert_plain_chinese(response, 500, "服务器")
    assert "secret internal detail" not in response.get_data(as_text=True)
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", _text(response))


def test_too_large_request_is_a_chinese_413(crashing_app):
    """A request body over the limit is refused with a Chinese 413 page."""
    response = crashing_app.test_client().post(
        "/upload", data=b"x" * 4096, content_type="application/octet-stream"
    )
    _assert_plain_chinese(response, 413, "文件过大")
