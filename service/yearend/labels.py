"""What people read for the funds a policy's layers and year-end entries name (the console,
the downloads). The codes stay the API's (`fund_type`); a fund not listed is shown by its code."""

from __future__ import annotations

FUND_LABELS = {
    "basic_insurance": "基本医保",
    "critical_illness": "大病保险",
    "medical_aid": "医疗救助",
    "supplementary": "补充保障",
    "safety_net": "兜底保障",
    "hospital": "医院承担",
}
