"""Values worked out once per request (backoffice/memo.py)."""

from __future__ import annotations

from backoffice import memo


def test_computed_once_per_request(app):
    """Within one request a key is computed once; the next request computes it again."""
    calls = []
    with app.test_request_context():
        assert memo.per_request("k", lambda: calls.append(1) or len(calls)) == 1
        assert memo.per_request("k", lambda: calls.append(1) or len(calls)) == 1
    with app.app_context():  # one app context serving two requests, as the test client does
        with app.test_request_context():
            memo.per_request("k", lambda: calls.append(1) or len(calls))
        with app.test_request_context():
            assert memo.per_request("k", lambda: calls.append(1) or len(calls)) == 3
    assert len(calls) == 3


def test_forget_and_outside_a_request(app):
    """``forget`` makes the next call compute again; outside a request nothing is kept."""
    calls = []
    with app.test_request_context():
        memo.per_request("k", lambda: calls.append(1))
        memo.forget("k")
        memo.per_request("k", lambda: calls.append(1))
    with app.app_context():
        memo.remember("k", "kept")
        assert memo.recall("k") is None
        memo.per_request("k", lambda: calls.append(1))
        memo.per_request("k", lambda: calls.append(1))
    assert len(calls) == 4
