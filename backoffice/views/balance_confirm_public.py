"""The debtor's page (issue 15): no account, one-time link, Chinese.

``/c/<token>`` shows only that customer's balance and documents as of the request's date, and
takes one answer: confirm, dispute (its own figure and the documents it disputes, a reason per
line, an optional file each), or the signed and sealed letter. The rules live in
``services/balance_confirm_answer.py``; this module only reads the form and shows the pages.

- Every request is counted per IP address in Redis before anything is looked up
  (``BALANCE_CONFIRM_RATE_LIMIT`` per ``BALANCE_CONFIRM_RATE_WINDOW`` seconds, 429 beyond).
- An unknown token gets the application's ordinary 404, byte for byte the same as for any
  other address that does not exist: nothing tells whether a token exists.
- Expired, revoked and used links get a plain Chinese page saying so (their holder received
  the link, so saying it expired reveals nothing).
- The forms carry the application's CSRF token; the pages are never cached and send no referrer.
"""

from __future__ import annotations

import math
import time
from decimal import Decimal

from flask import Blueprint, abort, current_app, g, render_template, request
from redis import Redis
from redis.exceptions import RedisError

from backoffice.extensions import db
from backoffice.models.balance_confirmation import DisputeReason, LetterForm
from backoffice.services.balance_confirm_answer import (
    AnswerRejected,
    DisputedLine,
    LinkRefused,
    LinkState,
    Visitor,
    confirm,
    dispute,
    find_link,
    parse_amount,
    return_letter,
    view,
)

bp = Blueprint("balance_confirm_public", __name__, url_prefix="/c")

RATE_KEY = "qq:confirm:rate:{ip}:{window}"
REFUSED_TEMPLATE = "public/balance_confirm_refused.html"


def _redis() -> Redis | None:
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    cache = current_app.extensions.setdefault("qq_confirm_redis", {})
    if url not in cache:
        cache[url] = Redis.from_url(
            url,
            socket_connect_timeout=current_app.config.get("REDIS_CONNECT_TIMEOUT", 2),
            socket_timeout=current_app.config.get("REDIS_SOCKET_TIMEOUT", 5),
        )
    return cache[url]


@bp.before_request
def _limit_and_harden():
    """Count the request against the IP's window; 429 past the limit (before any lookup)."""
    g.no_store = True
    conn = _redis()
    if conn is None:
        return None
    cfg = current_app.config
    limit = int(cfg["BALANCE_CONFIRM_RATE_LIMIT"])
    window = max(1, int(cfg["BALANCE_CONFIRM_RATE_WINDOW"]))
    now = time.time()
    start = int(now // window) * window
    key = RATE_KEY.format(ip=request.remote_addr or "-", window=start)
    try:
        pipe = conn.pipeline()
        pipe.incr(key)
        pipe.expire(key, window + 5)
        count = int(pipe.execute()[0])
    except (RedisError, OSError) as exc:
        current_app.logger.warning("confirmation page not rate-limited: Redis (%s)", exc)
        return None
    if count > limit:
        body = render_template(REFUSED_TEMPLATE, state="rate")
        return body, 429, {"Retry-After": str(max(1, math.ceil(start + window - now)))}
    return None


@bp.after_request
def _no_referrer(response):
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def _visitor() -> Visitor:
    return Visitor(request.remote_addr, request.headers.get("User-Agent"))


def _link_or_404(token: str):
    link = find_link(db.session, token)
    if link is None:
        abort(404)  # the application's 404, identical for every unknown address
    return link


def _refused(state: LinkState | str, status: int = 410):
    return render_template(REFUSED_TEMPLATE, state=str(state)), status


def _page(link, error: str | None = None, status: int = 200):
    req = link.request
    return (
        render_template(
            "public/balance_confirm.html",
            req=req,
            customer=req.customer,
            company=req.company,
            lines=req.lines,
            reasons=list(DisputeReason),
            negative=req.letter_form is LetterForm.NEGATIVE,
            error=error,
            form=request.form if request.method == "POST" else {},
        ),
        status,
    )


@bp.get("/<token>")
def page(token: str):
    """The balance and documents as of the date, and the three ways to answer."""
    link = _link_or_404(token)
    state = view(db.session, link, _visitor())
    db.session.commit()
    if state is not LinkState.OPEN:
        return _refused(state)
    return _page(link)


def _answer(token: str, work):
    link = _link_or_404(token)
    try:
        req = work(link)
    except AnswerRejected as exc:
        db.session.rollback()
        return _page(link, error=str(exc), status=400)
    except LinkRefused as exc:
        db.session.commit()  # the refusal's access row
        return _refused(exc.state)
    db.session.commit()
    return render_template(
        "public/balance_confirm_done.html", req=req, customer=req.customer, company=req.company
    )


@bp.post("/<token>/confirm")
def do_confirm(token: str):
    """The debtor agrees with the balance."""
    return _answer(
        token, lambda link: confirm(db.session, link, _visitor(), request.form.get("signer"))
    )


def _disputed_lines(link) -> list[DisputedLine]:
    items = []
    for line in link.request.lines:
        if request.form.get(f"line-{line.id}") != "on":
            continue
        raw = request.form.get(f"amount-{line.id}") or str(line.outstanding)
        try:
            reason = DisputeReason(request.form.get(f"reason-{line.id}", ""))
        except ValueError as exc:
            raise AnswerRejected(f"请为单据 {line.doc_no} 选择争议原因。") from exc
        upload = request.files.get(f"file-{line.id}")
        has_file = upload is not None and bool(upload.filename)
        items.append(
            DisputedLine(
                line_id=line.id,
                disputed_amount=parse_amount(raw),
                reason=reason,
                note=request.form.get(f"note-{line.id}"),
                filename=upload.filename if has_file else None,
                stream=upload.stream if has_file else None,
            )
        )
    return items


@bp.post("/<token>/dispute")
def do_dispute(token: str):
    """The debtor disagrees: its own figure and the documents it disputes."""

    def work(link):
        raw = (request.form.get("debtor_balance") or "").strip()
        if not raw:
            raise AnswerRejected("请填写贵公司账面的余额。")
        figure: Decimal = parse_amount(raw)
        return dispute(
            db.session,
            link,
            _visitor(),
            debtor_balance=figure,
            lines=_disputed_lines(link),
            note=request.form.get("note"),
            signer=request.form.get("signer"),
        )

    return _answer(token, work)


@bp.post("/<token>/letter")
def do_letter(token: str):
    """The debtor uploads the signed and sealed letter."""

    def work(link):
        upload = request.files.get("letter")
        if upload is None or not upload.filename:
            raise AnswerRejected("请选择已签字盖章的回函扫描件。")
        return return_letter(db.session, link, _visitor(), upload.filename, upload.stream)

    return _answer(token, work)
