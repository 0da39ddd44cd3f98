"""The JSON Schemas (OpenAPI 3.1 dialect) of what the API takes and gives."""

from __future__ import annotations

from typing import Any

MONEY = {"type": "string", "pattern": r"^-?\d+\.\d{2}$", "description": "金额（元，两位小数）"}
NULL_MONEY = {"type": ["string", "null"], "pattern": r"^-?\d+\.\d{2}$"}
DATE = {"type": "string", "format": "date"}
NULL_DATE = {"type": ["string", "null"], "format": "date"}
NULL_TIME = {"type": ["string", "null"], "format": "date-time"}
TEXT = {"type": ["string", "null"]}
AMOUNT_IN = {
    "type": ["string", "number"],
    "description": '金额；建议用字符串（如 "1234.50"）以免浮点误差',
}
LABELED = {
    "type": "object",
    "required": ["code", "label"],
    "properties": {"code": {"type": "string"}, "label": {"type": "string"}},
}
NULL_LABELED = {"anyOf": [LABELED, {"type": "null"}]}
CUSTOMER_REF = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "erp_code": {"type": "string"},
        "name": {"type": "string"},
    },
}


def _obj(props: dict[str, Any], required: list[str] | None = None, **kw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": props, **kw}
    if required:
        out["required"] = required
    return out


ISSUE = _obj(
    {
        "index": {
            "type": ["integer", "null"],
            "description": "条目序号（从 0 起）；整批问题为 null",
        },
        "field": {"type": ["string", "null"]},
        "reason": {"type": "string", "description": "原因，与文件导入报告的措辞相同"},
        "code": {"type": "string"},
    },
    ["index", "field", "reason"],
)

SCHEMAS: dict[str, Any] = {
    "Problem": _obj(
        {
            "type": {"type": "string", "description": "稳定的问题类型 urn:qingqian:problem:…"},
            "title": {"type": "string", "description": "中文标题"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
        },
        ["type", "title", "status"],
    ),
    "Issue": ISSUE,
    "ReceivableItem": _obj(
        {
            "customer_code": TEXT,
            "customer_name": TEXT,
            "doc_no": {"type": "string"},
            "doc_type": TEXT,
            "amount": AMOUNT_IN,
            "currency": TEXT,
            "issue_date": TEXT,
            "due_date": {"type": "string"},
            "sales_unit": TEXT,
            "salesperson": TEXT,
            "contract": TEXT,
        },
        ["doc_no", "amount", "due_date"],
        additionalProperties=False,
    ),
    "PaymentItem": _obj(
        {
            "customer_code": TEXT,
            "customer_name": TEXT,
            "payment_no": {"type": "string"},
            "amount": AMOUNT_IN,
            "received_on": {"type": "string"},
            "doc_no_ref": TEXT,
            "kind": TEXT,
            "note": TEXT,
            "sales_unit": TEXT,
        },
        ["payment_no", "amount", "received_on"],
        additionalProperties=False,
    ),
    "PushResult": _obj(
        {
            "batch_id": {"type": "integer"},
            "outcome": {
                "type": "string",
                "enum": ["applied", "checked"],
                "description": "applied：已导入；checked：dry_run 校验通过，未写入",
            },
            "items": {"type": "integer"},
            "created": {"type": "integer"},
            "updated": {"type": "integer"},
            "unchanged": {"type": "integer"},
            "warnings": {"type": "array", "items": {"$ref": "#/components/schemas/Issue"}},
            "new_customers": {"type": "array", "items": {"type": "object"}},
            "idempotent_replay": {"type": "boolean"},
        },
        ["batch_id", "outcome", "created", "updated", "unchanged", "idempotent_replay"],
    ),
    "InvalidItems": {
        "allOf": [
            {"$ref": "#/components/schemas/Problem"},
            _obj(
                {
                    "errors": {"type": "array", "items": {"$ref": "#/components/schemas/Issue"}},
                    "batch_id": {"type": "integer"},
                    "idempotent_replay": {"type": "boolean"},
                },
                ["errors"],
            ),
        ]
    },
    "Customer": _obj(
        {
            "id": {"type": "integer"},
            "erp_code": {"type": "string"},
            "name": {"type": "string"},
            "sales_unit": TEXT,
            "credit_rating": TEXT,
            "credit_limit": NULL_MONEY,
            "shipment_hold": {"type": "boolean"},
            "balance": MONEY,
            "overdue": MONEY,
            "aging": {
                "type": "object",
                "description": "按账龄段（not_due、le_3m、3m_6m、gt_6m）的未收金额",
                "additionalProperties": _obj({"label": {"type": "string"}, "amount": MONEY}),
            },
            "debt_class": LABELED,
        },
        ["id", "erp_code", "name", "balance", "aging", "debt_class"],
    ),
    "Case": _obj(
        {
            "id": {"type": "integer"},
            "case_no": {"type": "string"},
            "customer": CUSTOMER_REF,
            "origin": LABELED,
            "stage": LABELED,
            "next_step": {
                "anyOf": [
                    _obj(
                        {
                            "code": {"type": "string"},
                            "label": {"type": "string"},
                            "due": NULL_DATE,
                            "strategy": NULL_LABELED,
                        }
                    ),
                    {"type": "null"},
                ]
            },
            "filed_on": NULL_DATE,
            "amount_at_filing": NULL_MONEY,
            "outcome": NULL_LABELED,
            "closed_on": NULL_DATE,
            "updated_at": NULL_TIME,
        },
        ["id", "case_no", "stage", "next_step"],
    ),
    "Statement": _obj(
        {
            "id": {"type": "integer"},
            "period": {"type": "string", "pattern": r"^\d{4}-\d{2}$"},
            "as_of": DATE,
            "customer": CUSTOMER_REF,
            "total_outstanding": MONEY,
            "sha256": {"type": ["string", "null"], "description": "PDF 的 SHA-256"},
            "pdf": {"type": ["string", "null"], "description": "PDF 地址"},
            "created_at": NULL_TIME,
        },
        ["id", "period", "customer", "sha256", "pdf"],
    ),
    "WriteOff": _obj(
        {
            "id": {"type": "integer"},
            "app_no": {"type": "string"},
            "customer": CUSTOMER_REF,
            "ground": LABELED,
            "amount": MONEY,
            "accounting_ref": TEXT,
            "filed_at": NULL_TIME,
            "items": {
                "type": "array",
                "items": _obj({"doc_no": {"type": "string"}, "amount": MONEY}),
            },
        },
        ["id", "app_no", "customer", "amount", "items"],
    ),
}
