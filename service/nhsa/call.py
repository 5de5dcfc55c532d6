"""One NHSA message being answered: what a transaction handler needs, and input parsing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from service.admissions.service import AdmissionContext
from service.auth import Principal
from service.china_time import CHINA_TZ
from service.errors import FieldProblem, ServiceError
from service.nhsa.envelope import Envelope
from service.nhsa.errors import InvalidInput, UnsupportedValue
from service.nhsa.inputs import Credential
from service.nhsa.mapping import Mapping, mapping_for, province_of
from service.regions.directory import HospitalDirectory
from service.settlements.context import Catalog
from service.settlements.desk import Desk
from service.unit_of_work import UnitOfWork

M = TypeVar("M", bound=BaseModel)

RESIDENT_ID_CARD = "02"  # 就诊凭证类型: 居民身份证
ID_CARD_CERT = "01"  # 人员证件类型: 居民身份证


@dataclass(frozen=True, slots=True)
class Call:
    uow: UnitOfWork
    envelope: Envelope
    principal: Principal
    hospital_code: str
    catalog: Catalog
    hospitals: HospitalDirectory
    admissions: AdmissionContext

    @property
    def session(self) -> AsyncSession:
        return self.uow.session

    @property
    def actor(self) -> str:
        return self.principal.label

    @property
    def desk(self) -> Desk:
        """Where the message's bill is (pre-)settled: the calling hospital's desk."""
        return Desk(self.catalog, self.hospitals, self.hospital_code, self.admissions.window)

    def mapping(self, county: str | None = None) -> Mapping:
        """The codes of the insured place's province (national when unknown)."""
        return mapping_for(province_of(county or self.envelope.insuplc_admdvs))

    def default_discharge(self) -> datetime:
        """The discharge when the message sends none: the message's own time (`inf_time`). The
        policy reads only the date, so this is the day the message was sent, as end-of-day was;
        but unlike end-of-day it is never in the future, so a HIS can settle on the day of
        discharge (the platform's 2304 has no discharge field). A resent message with the same
        `inf_time` stays the same request."""
        return self.envelope.inf_time.astimezone(CHINA_TZ)


def parse(model: type[M], call: Call) -> M:
    return build(model, "input", **call.envelope.input)


def build(
    model: type[M], where: str, /, *, names: dict[str, str] | None = None, **values: object
) -> M:
    """`model(**values)`, or a problem naming each field at fault under `where`; `names` gives
    the message's field for a value of ours read from elsewhere than `where.<our name>` (a
    request of the JSON API built from the message), longest first."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        errors = []
        for e in exc.errors():
            ours = ".".join(str(p) for p in e["loc"])
            theirs = _renamed(ours, names or {})
            field = theirs if theirs != ours else f"{where}.{ours}" if ours else where
            errors.append(FieldProblem(field=field, message=e["msg"], code=e["type"]))
        listed = ", ".join(e.field for e in errors[:5])
        raise InvalidInput(
            f"{len(errors)} field(s) failed validation: {listed}", errors=errors
        ) from None


@contextmanager
def fields_named(names: dict[str, str]) -> Iterator[None]:
    """The service's field names in what it raises, as this message names them, where the
    router's table per transaction cannot (an index of the message, a defaulted field)."""
    try:
        yield
    except ServiceError as exc:
        exc.errors = [p.model_copy(update={"field": _renamed(p.field, names)}) for p in exc.errors]
        raise


def _renamed(field: str, names: dict[str, str]) -> str:
    for ours, theirs in names.items():
        if field == ours or field.startswith(ours + "."):
            return theirs + field[len(ours) :]
    return field


def named_resident_id(credential: Credential, node: str) -> tuple[str, str] | None:
    """The resident ID number the message names the person with, and the field it is in;
    None when it names nobody by an ID card."""
    if credential.mdtrt_cert_type == RESIDENT_ID_CARD and credential.mdtrt_cert_no:
        return credential.mdtrt_cert_no, f"input.{node}.mdtrt_cert_no"
    if credential.psn_cert_type in (None, ID_CARD_CERT) and credential.certno:
        return credential.certno, f"input.{node}.certno"
    return None


def resident_id_field(credential: Credential, node: str) -> str:
    """The field of the message the person's resident ID number is read from."""
    named = named_resident_id(credential, node)
    return named[1] if named is not None else f"input.{node}.mdtrt_cert_no"


def resident_id(credential: Credential, node: str) -> str:
    """The resident ID number the message identifies the person with."""
    named = named_resident_id(credential, node)
    if named is not None:
        return named[0]
    raise UnsupportedValue(
        "identify the person by resident ID card: mdtrt_cert_type 02 with mdtrt_cert_no, or "
        "psn_cert_type 01 with certno (electronic vouchers and social-security cards cannot "
        "be resolved here)",
        field=f"input.{node}.mdtrt_cert_type",
    )
