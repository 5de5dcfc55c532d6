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
    "PREPAYMENT_DEMANDED": "先诊疗后付费患者出院前被要求付费",
    "DEFAULTER_WITHOUT_REMINDERS": "未按规定催缴即认定恶意拖欠",
}
SEVERITY_LABELS = {"low": "低", "medium": "中", "high": "高"}
SOURCE_LABELS = {
    "admission": "入院登记",
    "deposit": "押金",
    "settlement": "结算",
    "receivable": "个人负担回收",
    "defaulter_mark": "恶意拖欠认定",
}


def label(labels: dict[str, str], code: str | None) -> str:
    """The name of a code, or the code itself when it has none yet (a new rule)."""
    return "" if code is None else labels.get(code, code)


# Evidence fields by key. Keys ending in `_fen` are amounts: shown in yuan under the name of the
# key without the suffix. A key not listed here is shown as it is.
EVIDENCE_LABELS = {
    "amount": "押金金额",
    "deposit_allowed": "允许收取的押金",
    "deposit_taken_before": "此前已收押金",
    "refund": "应退金额",
    "receipt_no": "收据号",
    "taken_at": "收取时间",
    "visit_id": "就诊号",
    "visit_type": "就诊类型",
    "status_source": "资格来源",
    "categories": "人员类别",
    "eligibility_reasons": "资格判定依据",
    "reasons": "原因",
    "settlement_id": "结算记录号",
    "year": "结算年度",
    "measured": "实测值",
    "limit": "限值",
    "detail": "说明",
    "location": "就医地",
    "referred": "已转诊",
    "settlement_mode": "结算方式",
    "skipped_layers": "未结算的保障层次",
    "patient_extra": "患者多负担",
    "patient_pays_one_stop": "一站式结算时个人自付",
    "patient_pays_if_referred": "规范转诊时个人自付",
    "contracted": "已签约家庭医生",
    "contract_valid_to": "签约有效期至",
    "card_valid_to": "慢病卡有效期至",
    "registry": "名册",
    "reported": "上报内容",
    "problem": "问题",
    "deceased": "已死亡",
    "insured_county": "参保地",
    "hifp_pay": "基本医保支付",
    "hifmi_pay": "大病保险支付",
    "maf_pay": "医疗救助支付",
    "oth_pay": "其他支付",
}
VALUE_LABELS = {
    "registry": "贫困人口数据系统",
    "cache": "系统缓存",
    "snapshot": "本地名单快照",
    "unknown": "未知",
    "inpatient": "住院",
    "chronic_outpatient": "门诊慢特病",
    "one_stop": "一站式结算",
    "insurance_only": "仅医保结算",
    "in_county": "县域内",
    "out_of_county": "县域外",
    "out_of_province": "省外",
    "in_province": "省内",
}
