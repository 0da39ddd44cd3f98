"""The API's contract: an OpenAPI 3.1 document at /api/v1/openapi.json and a page rendering it.

The document is written here by hand, next to the schemas it names; a test checks that every
route of the blueprint is in it and that it validates (openapi-spec-validator). The page
(``/api/v1/docs``) is our own small renderer (static/api/openapi-viewer.js): nothing is fetched
from outside, so it works offline.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template

from backoffice.api.blueprint import bp, json_response
from backoffice.api.problems import PROBLEMS, TYPE_PREFIX
from backoffice.api.schemas import SCHEMAS
from backoffice.api.scopes import SCOPES

P = "/api/v1"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _problem(*statuses: int) -> dict[str, Any]:
    return {str(s): {"$ref": f"#/components/responses/Problem{s}"} for s in statuses}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


PAGING = [
    {
        "name": "cursor",
        "in": "query",
        "required": False,
        "description": "上一页响应中的 next_cursor（不透明）",
        "schema": {"type": "string"},
    },
    {
        "name": "limit",
        "in": "query",
        "required": False,
        "description": "每页条数（默认 100，最多 500）",
        "schema": {"type": "integer", "minimum": 1, "maximum": 500},
    },
]
READ_ERRORS = _problem(400, 401, 403, 429)


def _id(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}


def _list(tag: str, scope: str, item: str, summary: str, extra: list | None = None) -> dict:
    return {
        "get": {
            "tags": [tag],
            "summary": summary,
            "operationId": f"list_{tag}",
            "x-scope": scope,
            "parameters": PAGING + (extra or []),
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "required": ["items", "next_cursor"],
                        "properties": {
                            "items": {"type": "array", "items": _ref(item)},
                            "next_cursor": {"type": ["string", "null"]},
                        },
                    },
                    "一页数据；next_cursor 为 null 表示最后一页",
                ),
                **READ_ERRORS,
            },
        }
    }


def _one(tag: str, scope: str, item: str, param: str, summary: str) -> dict:
    return {
        "get": {
            "tags": [tag],
            "summary": summary,
            "operationId": f"get_{tag}",
            "x-scope": scope,
            "parameters": [_id(param)],
            "responses": {"200": _json(_ref(item), summary), **READ_ERRORS, **_problem(404)},
        }
    }


def _push(tag: str, item: str, summary: str) -> dict:
    return {
        "post": {
            "tags": [tag],
            "summary": summary,
            "operationId": f"push_{tag}",
            "x-scope": f"{tag}:write",
            "description": (
                "与文件导入相同的校验与“全部或全不”规则：任一条目有误则整批不导入，"
                "响应列出每个错误条目的序号（index，从 0 起）、字段和原因。"
                "带 Idempotency-Key 的重试不会重复导入，响应头 Idempotent-Replayed: true。"
            ),
            "parameters": [
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string", "maxLength": 200},
                },
                {
                    "name": "dry_run",
                    "in": "query",
                    "required": False,
                    "description": "true：只校验，不写入",
                    "schema": {"type": "boolean"},
                },
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["items"],
                            "properties": {
                                "items": {
                                    "type": "array",
                                    "minItems": 1,
                                    "maxItems": 10000,
                                    "items": _ref(item),
                                }
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": _json(_ref("PushResult"), "整批已导入（或 dry_run 校验通过）"),
                "422": {
                    "description": "有错误条目，整批未导入",
                    "content": {"application/problem+json": {"schema": _ref("InvalidItems")}},
                },
                **_problem(400, 401, 403, 409, 413, 415, 429),
            },
        }
    }


def _meta(summary: str, content_type: str) -> dict:
    return {
        "get": {
            "tags": ["contract"],
            "summary": summary,
            "operationId": "docs_page" if content_type == "text/html" else "openapi_document",
            "security": [],
            "responses": {
                "200": {
                    "description": summary,
                    "content": {content_type: {"schema": {"type": "string"}}},
                }
            },
        }
    }


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document (a plain dict)."""
    paths = {
        f"{P}/receivables": _push("receivables", "ReceivableItem", "推送应收账款"),
        f"{P}/payments": _push("payments", "PaymentItem", "推送回款"),
        f"{P}/customers": _list(
            "customers",
            "customers:read",
            "Customer",
            "客户（余额、账龄、债权分类）",
            [{"name": "erp_code", "in": "query", "schema": {"type": "string"}}],
        ),
        f"{P}/customers/{{customer_id}}": _one(
            "customers", "customers:read", "Customer", "customer_id", "一个客户"
        ),
        f"{P}/cases": _list(
            "cases",
            "cases:read",
            "Case",
            "清收案件（阶段、下一步）",
            [{"name": "stage", "in": "query", "schema": {"type": "string"}}],
        ),
        f"{P}/cases/{{case_id}}": _one("cases", "cases:read", "Case", "case_id", "一个案件"),
        f"{P}/statements": _list(
            "statements",
            "statements:read",
            "Statement",
            "对账单",
            [{"name": "period", "in": "query", "schema": {"type": "string"}}],
        ),
        f"{P}/statements/{{statement_id}}": _one(
            "statements", "statements:read", "Statement", "statement_id", "一份对账单"
        ),
        f"{P}/statements/{{statement_id}}/pdf": {
            "get": {
                "tags": ["statements"],
                "summary": "对账单 PDF（按 SHA-256 校验后发送）",
                "operationId": "statement_pdf",
                "x-scope": "statements:read",
                "parameters": [_id("statement_id")],
                "responses": {
                    "200": {
                        "description": "PDF；Repr-Digest 与 X-Content-SHA256 给出其哈希",
                        "content": {"application/pdf": {"schema": {"type": "string"}}},
                    },
                    **READ_ERRORS,
                    **_problem(404, 500),
                },
            }
        },
        f"{P}/writeoffs": _list("writeoffs", "writeoffs:read", "WriteOff", "已归档的核销"),
        f"{P}/writeoffs/{{writeoff_id}}": _one(
            "writeoffs", "writeoffs:read", "WriteOff", "writeoff_id", "一笔已归档的核销"
        ),
        f"{P}/openapi.json": _meta("本文档（OpenAPI 3.1）", "application/json"),
        f"{P}/docs": _meta("接口文档页面（离线）", "text/html"),
    }
    responses = {
        f"Problem{status}": {
            "description": "；".join(
                f"{TYPE_PREFIX}{slug}" for slug, (s, _t) in PROBLEMS.items() if s == status
            ),
            "content": {"application/problem+json": {"schema": _ref("Problem")}},
        }
        for status in sorted({s for s, _t in PROBLEMS.values()})
    }
    scopes = "；".join(f"{k}：{v}" for k, v in SCOPES.items())
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "清欠 ERP 集成接口",
            "version": "1.0.0",
            "description": (
                "JSON over HTTPS。每个请求带 Authorization: Bearer <令牌>；令牌由管理员在"
                f"“系统 → 接口令牌”创建，限定一个公司和所选权限（{scopes}）。"
                "错误为 application/problem+json（RFC 9457），type 稳定不变。"
            ),
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": SCHEMAS,
            "responses": responses,
        },
    }


@bp.get("/openapi.json")
def openapi_json():
    """The OpenAPI 3.1 document."""
    return json_response(document())


@bp.get("/docs")
def docs():
    """The document rendered as a page, with no outside asset."""
    return render_template("api/docs.html", spec_url=f"{P}/openapi.json")


def routes() -> list[tuple[str, str]]:
    """(OpenAPI path, method) of every route the blueprint registered."""
    out = []
    for rule in current_app.url_map.iter_rules():
        if not rule.rule.startswith(P + "/"):
            continue
        path = rule.rule
        for arg in rule.arguments:
            path = path.replace(f"<int:{arg}>", f"{{{arg}}}").replace(f"<{arg}>", f"{{{arg}}}")
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            out.append((path, method.lower()))
    return out
