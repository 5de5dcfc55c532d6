"""核验台账: the console's "verify the ledger" action for auditors and admins.

The auditor may upload a heads document kept from an earlier export (the page also offers
today's heads for download): against it a cut tail or a deleted county chain shows, which the
chain alone cannot (ADR 0013). Who may open these pages is service/console/access.py
(the verify API's rule: auditors and admins), enforced by the console's own guard.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import File, UploadFile
from fastapi.responses import Response
from pydantic import ValidationError

from service.china_time import CHINA_TZ
from service.console.views import page
from service.routers.console import FormUserDep, UserDep, console_router
from service.unit_of_work import SessionDep
from service.violations.schemas import BrokenRecord, ChainHeadPublic, ChainHeadsUpload
from service.violations.verify import chain_heads, verify_ledger

router = console_router()
MAX_HEADS_FILE_BYTES = 1_000_000
# verify.py's reasons, by their opening words, for the page.
REASONS = (
    ("gap in seq", "记录缺失（序号不连续）：有记录被删除或挪动"),
    ("duplicate seq", "序号重复：有记录被挪动或插入"),
    ("prev_hash mismatch", "与前一条记录的链接断开：有记录被插入或移动"),
    ("hash mismatch", "内容被修改"),
    ("hash format 1 after", "以旧格式改写了记录"),
    ("id ", "记录编号被调换"),
    ("differs from the exported", "与所导出链头的记录不一致"),
    ("event date disagrees", "业务日期被改动：与已签名的记录不符"),
    ("chain head disagrees", "链头与最后一条记录不符：末尾记录被删除"),
    ("truncated", "被截断：导出时的最后一条记录已不存在"),
    ("chain exported", "整条链已被删除：导出时存在"),
    ("status projection", "问题状态与整改记录不符"),
    ("moves violation", "整改记录指向了其他问题"),
    ("from_status", "整改记录的起始状态与此前记录不符：问题状态曾在台账外被改动"),
)


def reason_zh(broken: BrokenRecord) -> str:
    return next((zh for start, zh in REASONS if start in broken.reason), broken.reason)


@router.get("/verify")
async def verify_form(user: UserDep) -> Response:
    return page("verify.html", user=user, nav="verify", report=None)


@router.post("/verify")
async def verify_run(
    session: SessionDep,
    user: FormUserDep,
    heads: Annotated[UploadFile | None, File()] = None,
) -> Response:
    exported: list[ChainHeadPublic] = []
    if heads is not None and heads.filename:
        raw = await heads.read(MAX_HEADS_FILE_BYTES + 1)
        try:
            if len(raw) > MAX_HEADS_FILE_BYTES:
                raise ValueError("too large")
            exported = list(ChainHeadsUpload.model_validate_json(raw).heads)
        except (ValidationError, ValueError):
            error = "链头文件无法识别：请上传从本页或接口导出的链头文件（JSON），不要修改其内容"
            return page(
                "verify.html", status_code=422, user=user, nav="verify", report=None, error=error
            )
    report = await verify_ledger(session, principal=user.principal, exported=exported)
    return page(
        "verify.html",
        user=user,
        nav="verify",
        report=report,
        uploaded=bool(exported),
        reason_zh=reason_zh,
    )


@router.get("/verify/heads.json")
async def verify_heads(session: SessionDep, user: UserDep) -> Response:
    document = await chain_heads(session, principal=user.principal)
    # China time, as every time the console shows: the office keeps the files by their names
    stamp = document.exported_at.astimezone(CHINA_TZ).strftime("%Y%m%d-%H%M%S")
    return Response(
        json.dumps(document.model_dump(mode="json"), ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="ledger-heads-{stamp}.json"',
            "Cache-Control": "no-store",
        },
    )
