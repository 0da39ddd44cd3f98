"""The demo data set's fixed tables: companies, units, users, name parts, ratings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from backoffice.models.case import Strategy
from backoffice.models.customer import CreditRating, Customer, FinancialStatus
from backoffice.models.org import SalesUnit
from backoffice.models.receivable import Contract, Receivable
from backoffice.models.user import LeaderTitle

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

RANDOM_SEED = 20260103
CUSTOMER_COUNT = 200
RECEIVABLE_COUNT = 5000
HISTORY_DAYS = 730  # two years of due dates ...
FUTURE_DAYS = 60  # ... ending a little after today, so some are not yet due
CUSTOMERS_PER_COMMIT = 25

# (code, name, address, phone, bank account)
COMPANIES = [
    (
        "HRZG",
        "华锐重工集团股份有限公司",
        "江苏省苏州市工业园区星湖街328号",
        "0512-6288 0000",
        "中国工商银行苏州工业园区支行 1102 0201 0900 1234 567",
    ),
    (
        "HRZN",
        "华锐智能装备有限公司",
        "四川省成都市高新区天府大道中段1388号",
        "028-8566 0000",
        "中国建设银行成都高新支行 5105 0142 6208 0000 321",
    ),
]

# (company index, code, name, share of customers, regions the unit's customers come from)
UNITS = [
    (0, "EAST", "华东事业部", 0.28, ["上海", "苏州", "无锡", "南京", "杭州", "宁波", "合肥"]),
    (0, "NORTH", "华北事业部", 0.22, ["北京", "天津", "石家庄", "唐山", "太原", "包头"]),
    (0, "SOUTH", "华南事业部", 0.20, ["广州", "深圳", "佛山", "东莞", "厦门", "南宁"]),
    (1, "WEST", "西部事业部", 0.18, ["成都", "重庆", "西安", "昆明", "贵阳", "乌鲁木齐"]),
    (1, "EXPORT", "国际贸易事业部", 0.12, ["深圳前海", "上海自贸区", "青岛", "天津港"]),
]

USER_PROFILES = {
    # username: (display name, employee code, leader title)
    "admin": ("系统管理员", "A0001", None),
    "leader": ("刘振华", "L0001", LeaderTitle.PRESIDENT),
    "cfo": ("陈静", "L0002", LeaderTitle.CFO),
    "vp": ("赵立新", "L0003", LeaderTitle.DIVISION_VP),
    "teamlead": ("孙浩", "T0001", None),
    "finance": ("李娜", "F0001", None),
    "legal": ("周志远", "J0001", None),
    "credit": ("吴敏", "X0001", None),
    "collector": ("张伟", "S1001", None),
    "auditor": ("郑芳", "N0001", None),
}

# ERP salespeople (业务员) with no user account: imported rows keep the name (SPEC §3.1).
OTHER_SALESPEOPLE = ["王磊", "杨帆", "黄晓东", "马俊", "胡婷", "林志强", "何军", "高原"]

NAME_CORES = [
    "恒达", "鑫源", "宏远", "盛通", "永信", "华泰", "金石", "博远", "中联", "天成",
    "瑞丰", "汇通", "久益", "东方", "长城", "新锐", "正大", "国泰", "隆基", "开元",
    "万通", "聚力", "宏图", "三禾", "嘉诚", "同创", "锦程", "恒升", "远航", "明阳",
    "德润", "安泰", "广利", "兴业", "润达", "众合", "华星", "振兴", "凯旋", "海川",
]  # fmt: skip
NAME_TRADES = [
    "机械制造", "重型装备", "建设工程", "钢结构工程", "物流", "矿山机械", "电气设备",
    "新能源科技", "建材", "港口机械", "工程机械租赁", "环保设备", "起重设备", "冶金设备",
    "水利工程", "路桥建设", "机电设备安装", "汽车零部件",
]  # fmt: skip
EXPORT_TRADES = ["国际贸易", "进出口", "供应链管理", "国际物流"]
NAME_SUFFIXES = ["有限公司", "有限公司", "有限公司", "股份有限公司", "集团有限公司"]
CONTACT_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗"
CONTACT_GIVEN = ["建华", "志强", "秀英", "海燕", "国栋", "丽娟", "晓明", "春梅", "永刚", "文博"]
STREETS = ["人民路", "建设大道", "工业大道", "经济开发区", "高新技术产业园", "滨江路", "解放路"]

RATING_LIMITS = {
    CreditRating.AAA: (3_000_000, 8_000_000),
    CreditRating.AA: (2_000_000, 5_000_000),
    CreditRating.A: (800_000, 3_000_000),
    CreditRating.B: (300_000, 1_200_000),
    CreditRating.C: (100_000, 500_000),
    CreditRating.D: (0, 100_000),
}

HOLD_REASONS = [
    "逾期超过6个月未回款,经总裁办批准暂停发货",
    "累计欠款超出信用额度,停货待回款",
    "多次承诺付款未兑现,停货并移交清欠小组",
    "客户涉诉,资金冻结,暂停发货",
]

# Art.23: the strategy the financial status suggests.
STRATEGY_FOR = {
    FinancialStatus.GOOD_FUNDS: Strategy.PRESS_FOR_CASH,
    FinancialStatus.POOR_FUNDS_GOOD_PROSPECTS: Strategy.COLLATERAL,
    FinancialStatus.POOR_FUNDS_POORLY_RUN: Strategy.PAYMENT_IN_KIND,
    FinancialStatus.MALICIOUS: Strategy.LITIGATION,
}

# Where a unit's litigation is filed: (court, prefix of its case numbers).
COURTS = {
    "EAST": ("苏州市中级人民法院", "苏05"),
    "NORTH": ("天津市第一中级人民法院", "津01"),
    "SOUTH": ("广州市中级人民法院", "粤01"),
    "WEST": ("成都市中级人民法院", "川01"),
    "EXPORT": ("深圳前海合作区人民法院", "粤0391"),
}

GOOD, SLOW, BAD = "good", "slow", "bad"


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole calendar months, clamped to the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


@dataclass
class _CustomerPlan:
    customer: Customer
    unit: SalesUnit
    profile: str
    count: int
    contracts: list[Contract] = field(default_factory=list)
    salesperson: str = ""
    # bad payers stop paying at this date (and are put on hold some months later)
    stopped_on: date | None = None
    receivables: list[Receivable] = field(default_factory=list)
