"""What routes take from the app (built once by the lifespan, kept on `app.state`), as typed
`Annotated` dependencies: a route names what it needs and never takes `Request` to reach it."""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import async_sessionmaker

from service.admissions.service import AdmissionContext
from service.dates import DateWindow
from service.persons.status import StatusReader
from service.policy_versions.catalog import PolicyCatalog
from service.regions.directory import HospitalDirectory
from service.settings import Settings

__all__ = [
    "AdmissionContextDep",
    "CatalogDep",
    "DateWindowDep",
    "HospitalsDep",
    "SessionmakerDep",
    "SettingsDep",
    "StatusReaderDep",
]


# Every dependency here is `async def` though none awaits: FastAPI runs a plain `def`
# dependency in the thread pool, a thread hop per request for an attribute read.
async def _settings(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


async def _catalog(request: Request) -> PolicyCatalog:
    return cast(PolicyCatalog, request.app.state.policies)


async def _hospitals(request: Request) -> HospitalDirectory:
    return cast(HospitalDirectory, request.app.state.hospitals)


async def _admission_context(request: Request) -> AdmissionContext:
    return cast(AdmissionContext, request.app.state.admission_context)


async def _status_reader(request: Request) -> StatusReader:
    state = request.app.state
    return StatusReader(state.sessionmaker, state.admission_context)


async def _sessionmaker(request: Request) -> async_sessionmaker[Any]:
    return cast(async_sessionmaker[Any], request.app.state.sessionmaker)


SettingsDep = Annotated[Settings, Depends(_settings)]
CatalogDep = Annotated[PolicyCatalog, Depends(_catalog)]
"""The policies in force, by region and date (cached; `invalidate()` after a change)."""
HospitalsDep = Annotated[HospitalDirectory, Depends(_hospitals)]
"""The hospital directory (code -> county, level, tier, designated)."""
AdmissionContextDep = Annotated[AdmissionContext, Depends(_admission_context)]
"""How to look a person up, the policies, the hospitals and the ID hasher."""
StatusReaderDep = Annotated[StatusReader, Depends(_status_reader)]
"""The quick status check (the sessions and the admission context in one)."""
SessionmakerDep = Annotated[async_sessionmaker[Any], Depends(_sessionmaker)]
"""For a streamed export, which outlives the request's session and opens its own."""


async def _date_window(request: Request) -> DateWindow:
    # The admission context holds the window built from the settings at start-up: one
    # dependency, no thread-pool hop (a plain `def` costs one), no sub-dependency.
    return cast(AdmissionContext, request.app.state.admission_context).window


DateWindowDep = Annotated[DateWindow, Depends(_date_window)]
"""The plausible window for the dates a caller sends (service/dates.py, ADR 0012)."""
