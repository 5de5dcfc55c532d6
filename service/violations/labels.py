"""What people read for the ledger's codes: rule, severity and status in Chinese (the console,
the exports). The codes stay the API's; these are their names."""

from __future__ import annotations

STATUS_LABELS = {
    "open": "待整改",
    "rectifying": "整改中",
    "rectified": "已整改",
    "verified": "已销号",
}
RULE_LABELS = {
    "DEPOSIT_CHARGED": "违规收取押金",
    "NOT_ONE_STOP": "未一站式结算",
    "BELOW_TARGET_RATIO": "实际报销比例未达标",
    "SELF_PAY_OVER_CAP": "个人自付超限",
    "OUT_OF_POLICY_OVER_LIMIT": "目录外费用超限",
    "NO_FAMILY_DOCTOR": "未签约家庭医生",
    "CHRONIC_CARD_MISSING": "慢病卡缺失或过期",
    "IMPROPER_REFERRAL": "不规范转诊",
    "REGISTRY_INCONSISTENT": "数据与名册不一致",
}
SEVERITY_LABELS = {"low": "低", "medium": "中", "high": "高"}
SOURCE_LABELS = {"admission": "入院登记", "deposit": "押金", "settlement": "结算"}


def label(labels: dict[str, str], code: str | None) -> str:
    """The name of a code, or the code itself when it has none yet (a new rule)."""
    return "" if code is None else labels.get(code, code)
