"""Fund clearing (清算与对账): funds, statements per fund/hospital/period, closing, export,
payments and reconciliation. Hospitals see their own, auditors their region, fund keys their
own fund in their region, admins everything."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, Response, UploadFile

from service.auth.deps import (
    AdminDep,
    ClearingCloserDep,
    ClearingPayerDep,
    ClearingReaderDep,
    ClearingReconcilerDep,
)
from service.clearing import export, payments, service
from service.clearing.schemas import (
    PERIOD,
    ClearingPaymentCreate,
    ClearingPaymentPublic,
    FundCreate,
    FundPublic,
    ReconciliationPublic,
    StatementCreate,
    StatementPublic,
)
from service.deps import DateWindowDep
from service.routers.params import CodeFilter, RowId, capped_limit
from service.routers.replays import answer_recorded
from service.routers.routes import read, recording
from service.schemas import Code
from service.unit_of_work import UnitOfWorkDep

router = APIRouter(prefix="/v1/clearing", tags=["clearing"])

ReaderDep = ClearingReaderDep
CloserDep = ClearingCloserDep
ReconcilerDep = ClearingReconcilerDep
PayerDep = ClearingPayerDep
CodeQuery = Annotated[Code, Query()]
Period = Annotated[str, Query(pattern=PERIOD, description="YYYY-MM")]
Limit = Annotated[int, capped_limit(50)]


@read(router, "/funds", parameters=False)
async def get_funds(uow: UnitOfWorkDep, principal: ReaderDep) -> list[FundPublic]:
    return await service.list_funds(uow, principal=principal)


@recording(
    router.post,
    "/funds",
    "Register a fund (admin): which layers' fund_type it pays, for which region",
    replayed=("the fund, registered already with the same values", FundPublic),
    problems=(401, 403, 409, 422),
)
async def create_fund(
    body: FundCreate, response: Response, uow: UnitOfWorkDep, _: AdminDep
) -> FundPublic:
    return answer_recorded(response, await service.create_fund(uow, body=body))


@read(
    router,
    "/statement",
    "A fund's statement for a hospital and month: closed as stored, or open as of now",
    not_found=True,
)
async def get_statement(
    uow: UnitOfWorkDep,
    principal: ReaderDep,
    fund_code: CodeQuery,
    hospital_code: CodeQuery,
    period: Period,
) -> StatementPublic:
    return await service.statement(
        uow,
        principal=principal,
        fund_code=fund_code,
        hospital_code=hospital_code,
        period=period,
    )


@recording(
    router.post,
    "/statements",
    "Close a period (关账): the statement becomes immutable and hashed; never reopened",
    replayed=("the statement, closed already (a replay)", StatementPublic),
    description="201 when this call closed it; 200 with the stored statement when it was "
    "closed already (also by a concurrent twin of this request).",
)
async def close_period(
    body: StatementCreate, response: Response, uow: UnitOfWorkDep, principal: CloserDep
) -> StatementPublic:
    recorded = await service.close(
        uow,
        principal=principal,
        fund_code=body.fund_code,
        hospital_code=body.hospital_code,
        period=body.period,
    )
    response.headers["Location"] = f"/v1/clearing/statements/{recorded.entry.id}"
    return answer_recorded(response, recorded)


@read(router, "/statements", "Closed statements you may see, newest period first")
async def list_statements(
    uow: UnitOfWorkDep,
    principal: ReaderDep,
    limit: Limit,
    fund_code: CodeFilter = None,
    hospital_code: CodeFilter = None,
) -> list[StatementPublic]:
    return await service.list_closed(
        uow,
        principal=principal,
        fund_code=fund_code,
        hospital_code=hospital_code,
        limit=limit,
    )


@read(router, "/statements/{statement_id}", not_found=True)
async def get_closed(
    statement_id: RowId, uow: UnitOfWorkDep, principal: ReaderDep
) -> StatementPublic:
    return await service.closed_by_id(uow, principal=principal, statement_id=statement_id)


@read(
    router,
    "/statements/{statement_id}/export",
    "A closed statement as XLSX or CSV, with Chinese headers",
    not_found=True,
    download="the closed statement as a file",
)
async def export_statement(
    statement_id: RowId,
    uow: UnitOfWorkDep,
    principal: ReaderDep,
    format: Annotated[export.ExportFormat, Query()] = "xlsx",
) -> Response:
    statement = await service.closed_by_id(uow, principal=principal, statement_id=statement_id)
    return export.download(statement, format)


@recording(
    router.post,
    "/statements/{statement_id}/payments",
    "Record the fund's payment (拨付) of a closed statement; idempotent by reference",
    replayed=("the payment recorded before (a replay)", ClearingPaymentPublic),
)
async def pay_statement(
    statement_id: RowId,
    body: ClearingPaymentCreate,
    response: Response,
    uow: UnitOfWorkDep,
    principal: PayerDep,
    window: DateWindowDep,
) -> ClearingPaymentPublic:
    recorded = await payments.pay(
        uow, principal=principal, statement_id=statement_id, body=body, window=window
    )
    return answer_recorded(response, recorded)


@recording(
    router.post,
    "/reconciliation",
    "对账: the fund's detail file (CSV/XLSX) against the statement; the answer is kept",
    problems=(401, 403, 404, 413, 422),
    description="Columns settlement_id/结算号, visit_id/就诊号, amount/金额. A bad file is a 422 "
    "`invalid_detail_file` listing every bad line (`errors[].field` = `line N: column`). Each "
    "upload is stored with its answer (`Location`: /v1/clearing/reconciliations/{id}).",
)
async def reconcile(
    response: Response,
    uow: UnitOfWorkDep,
    principal: ReconcilerDep,
    fund_code: CodeQuery,
    hospital_code: CodeQuery,
    period: Period,
    file: Annotated[UploadFile, File(description="the fund's detail file")],
) -> ReconciliationPublic:
    content = await file.read()
    answer = await service.reconcile_file(
        uow,
        principal=principal,
        fund_code=fund_code,
        hospital_code=hospital_code,
        period=period,
        content=content,
    )
    response.headers["Location"] = f"/v1/clearing/reconciliations/{answer.id}"
    return answer


@read(router, "/reconciliations", "Stored reconciliations you may see, newest first")
async def list_reconciliations(
    uow: UnitOfWorkDep,
    principal: ReaderDep,
    limit: Limit,
    fund_code: CodeFilter = None,
    hospital_code: CodeFilter = None,
    period: Annotated[str | None, Query(pattern=PERIOD, description="YYYY-MM")] = None,
) -> list[ReconciliationPublic]:
    return await service.list_reconciliations(
        uow,
        principal=principal,
        fund_code=fund_code,
        hospital_code=hospital_code,
        period=period,
        limit=limit,
    )


@read(
    router,
    "/reconciliations/{reconciliation_id}",
    "A stored reconciliation, as it was answered",
    not_found=True,
)
async def get_reconciliation(
    reconciliation_id: RowId, uow: UnitOfWorkDep, principal: ReaderDep
) -> ReconciliationPublic:
    return await service.reconciliation(
        uow, principal=principal, reconciliation_id=reconciliation_id
    )
