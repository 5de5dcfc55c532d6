"""One visibility rule (service/auth/visibility.py), turned into SQL that uses indexes; routers
never decide visibility themselves."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import sqlalchemy as sa

import service.routers
from service.auth import Principal, Role
from service.auth.visibility import visible_to

ROWS = [("H990102002", "990102"), ("H990103001", "990103"), ("H990201001", "990201")]
HOSPITAL = Principal(key_id=1, role=Role.HOSPITAL, hospital_code="H990102002")
AUDITOR_99 = Principal(key_id=2, role=Role.AUDITOR, region_prefix="99")
AUDITOR_9901 = Principal(key_id=3, role=Role.AUDITOR, region_prefix="9901")
COUNTY_AUDITOR = Principal(key_id=4, role=Role.AUDITOR, region_prefix="990103")
ADMIN = Principal(key_id=5, role=Role.ADMIN)
UNBOUND = Principal(key_id=6, role=Role.AUDITOR)


def _seen(principal: Principal) -> list[str]:
    engine = sa.create_engine("sqlite://")
    meta = sa.MetaData()
    things = sa.Table(
        "things", meta, sa.Column("hospital_code", sa.String), sa.Column("county", sa.String)
    )
    with engine.begin() as conn:
        meta.create_all(conn)
        conn.execute(things.insert(), [{"hospital_code": h, "county": c} for h, c in ROWS])
        where = visible_to(
            principal, hospital_code=things.c.hospital_code, county_code=things.c.county
        )
        stmt = sa.select(things.c.hospital_code).where(*where).order_by(things.c.hospital_code)
        return list(conn.execute(stmt).scalars())


@pytest.mark.parametrize(
    ("principal", "seen"),
    [
        (HOSPITAL, ["H990102002"]),
        (AUDITOR_99, ["H990102002", "H990103001", "H990201001"]),
        (AUDITOR_9901, ["H990102002", "H990103001"]),
        (COUNTY_AUDITOR, ["H990103001"]),
        (ADMIN, ["H990102002", "H990103001", "H990201001"]),
        (UNBOUND, []),
    ],
)
def test_each_principal_sees_its_scope_and_nothing_else(
    principal: Principal, seen: list[str]
) -> None:
    assert _seen(principal) == seen


def test_a_region_is_an_index_range_not_a_like() -> None:
    column = sa.column("county_code")
    sql = str(
        sa.and_(
            *visible_to(AUDITOR_9901, hospital_code=sa.column("h"), county_code=column)
        ).compile(compile_kwargs={"literal_binds": True})
    )
    assert "LIKE" not in sql.upper()
    assert sql == "county_code >= '990100' AND county_code <= '990199'"


def test_no_router_decides_visibility_itself() -> None:
    package = Path(service.routers.__file__).parent
    decided = {
        f"{path.name}: {node.attr}"
        for path in package.glob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute)
        and node.attr in {"sees_hospital", "sees_region", "HOSPITAL", "AUDITOR"}
    }
    assert decided == set()


def test_routers_reach_app_state_through_typed_dependencies() -> None:
    # console.py (its session cookie) and health.py (readiness probes every dependency) still
    # read request.app.state; every API router names what it needs (service/deps.py).
    package = Path(service.routers.__file__).parent
    reaching = {
        path.name
        for path in package.glob("*.py")
        if "app.state" in path.read_text(encoding="utf-8")
    }
    assert reaching <= {"console.py", "health.py"}
