"""The settlement desk (结算窗口) a bill comes to: what pre-settlement and settlement both take
besides the bill, whichever interface (JSON, FHIR, NHSA) the hospital calls through."""

from __future__ import annotations

from dataclasses import dataclass

from service.admissions.service import AdmissionContext
from service.dates import DateWindow
from service.recorded import Recorded
from service.regions.directory import HospitalDirectory
from service.settlements import service
from service.settlements.context import Catalog
from service.settlements.schemas import SettlementCreate, SettlementPreviewCreate, SettlementPublic
from service.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class Desk:
    """The policies in force, the hospital directory, the calling hospital and the plausible
    window for the discharge date."""

    catalog: Catalog
    hospitals: HospitalDirectory
    hospital_code: str
    window: DateWindow

    @classmethod
    def of(cls, ctx: AdmissionContext, hospital_code: str) -> Desk:
        """The app's desk (its admission context) for the calling hospital."""
        return cls(ctx.catalog, ctx.hospitals, hospital_code, ctx.window)

    async def preview(
        self, uow: UnitOfWork, body: SettlementPreviewCreate, *, person_key: str | None = None
    ) -> SettlementPublic:
        """预结算 (service.preview): what settling now would pay; nothing is stored.
        `person_key`: the person an NHSA or FHIR message names, who must be the visit's."""
        return await service.preview(
            uow,
            catalog=self.catalog,
            hospitals=self.hospitals,
            hospital_code=self.hospital_code,
            window=self.window,
            body=body,
            person_key=person_key,
        )

    async def settle(
        self, uow: UnitOfWork, body: SettlementCreate, *, person_key: str | None = None
    ) -> Recorded[SettlementPublic]:
        """结算 (service.create): settle and store, or the replay of the same request.
        `person_key`: the person an NHSA or FHIR message names, who must be the visit's."""
        return await service.create(
            uow,
            catalog=self.catalog,
            hospitals=self.hospitals,
            hospital_code=self.hospital_code,
            window=self.window,
            body=body,
            person_key=person_key,
        )
