"""Demo data for the run command (``flask --app app seed-demo``)."""

from __future__ import annotations

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - printed by the run command on purpose

#: (username, role, what they see)
DEMO_USERS: list[tuple[str, str, str]] = [
    ("admin", "admin", "系统管理员: everything"),
    ("leader", "leader", "总裁 (president): approves write-offs"),
    ("cfo", "leader", "财务总监 (CFO): approves write-offs"),
    ("vp", "leader", "分管领导 (division VP): approves write-offs"),
    ("teamlead", "team_lead", "清欠小组组长: cases, reviews"),
    ("finance", "finance", "财务专员: imports, monthly cycle"),
    ("legal", "legal", "法务专员: evidence, litigation"),
    ("credit", "credit", "信控专员: credit control"),
    ("collector", "collector", "催收专员 of unit 华东事业部 only"),
    ("auditor", "auditor", "内审: reads everything, changes nothing"),
]


def seed_demo_data(force: bool = False) -> bool:
    raise NotImplementedError
