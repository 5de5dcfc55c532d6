"""Demo data: a fictional province (99), its hospitals, a synthetic roster, policies and keys.

Seeded once; the keys are printed at every start of the embedded default from a local file,
because only their hashes are in the database. The file is the database's own
(`demo_keys_file`): two databases started from one directory (a PostgreSQL service and a
SQLite one) each keep theirs, and only keys the database holds are ever printed.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlmodel.ext.asyncio.session import AsyncSession

from service.auth import Role
from service.auth.keys import issue_key, key_of_token
from service.clearing.models import Fund
from service.cli import concept_hooks
from service.identity import IdHasher
from service.regions.models import Hospital, Region


def demo_keys_file(database_url: str) -> Path:
    """Where the demo keys of this database are kept: beside a SQLite file (`settlecheck.db`:
    `settlecheck-demo-keys.json`); for PostgreSQL, or SQLite in memory, in the working
    directory under a name that says which server and database."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            db = Path(url.database)
            return db.with_name(f"{db.stem}-demo-keys.json")
        return Path("settlecheck-demo-keys.memory.json")
    server = f"{url.host or 'localhost'}-{url.port or 5432}"
    return Path(f"settlecheck-demo-keys.{server}-{url.database}.json")


DEMO_REGIONS = (
    Region(code="990000", name="演示省", level="province"),
    Region(code="990100", name="演示市", level="prefecture", parent_code="990000"),
    Region(code="990102", name="演示县", level="county", parent_code="990100"),
    Region(code="990103", name="邻县", level="county", parent_code="990100"),
    Region(code="990101", name="演示市市辖区", level="county", parent_code="990100"),
)

DEMO_HOSPITALS = (
    Hospital(
        code="H990102001",
        name="演示县青山镇卫生院",
        county_code="990102",
        level="primary",
        tier="township",
    ),
    Hospital(
        code="H990102002",
        name="演示县人民医院",
        county_code="990102",
        level="secondary",
        tier="county",
    ),
    Hospital(
        code="H990103001", name="邻县中医院", county_code="990103", level="secondary", tier="county"
    ),
    Hospital(
        code="H990101001",
        name="演示市第一人民医院",
        county_code="990101",
        level="tertiary",
        tier="city",
    ),
    Hospital(
        code="H990101002",
        name="演示省人民医院",
        county_code="990101",
        level="tertiary",
        tier="province",
    ),
    Hospital(
        code="H990102009",
        name="演示县民营康复医院",
        county_code="990102",
        level="primary",
        tier="county",
        designated=False,
    ),
)
DEMO_HOSPITAL = "H990102002"
# The demo province's funds (service/clearing): one party per layer fund_type, as an admin
# would register them with POST /v1/clearing/funds. Each is the province's (region 99).
DEMO_FUNDS = tuple(
    Fund(code=code, fund_type=fund_type, region_code="99", name=name, owner=owner)
    for code, fund_type, name, owner in (
        ("F99-BASIC", "basic_insurance", "演示省城乡居民基本医疗保险统筹基金", "演示省医疗保障局"),
        (
            "F99-CRITICAL",
            "critical_illness",
            "演示省城乡居民大病保险",
            "演示人寿保险股份有限公司 (承办机构)",
        ),
        ("F99-AID", "medical_aid", "演示省医疗救助基金", "演示省医疗保障局 (医疗救助)"),
        ("F99-SUPPLEMENT", "supplementary", "演示省补充医疗保险", "演示省财政厅"),
        ("F99-SAFETYNET", "safety_net", "演示省兜底保障资金", "演示省财政厅"),
        ("F99-WAIVER", "fee_waiver", "定点医院自行减免", "定点医疗机构"),
    )
)


@dataclass
class DemoReport:
    keys: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def print_banner(self, base_url: str) -> None:
        print("\n=== settlecheck demo data ===", flush=True)
        for line in self.notes:
            print(f"  {line}")
        for role, token in self.keys.items():
            print(f"  {role:<22} X-API-Key: {token}")
        hospital_key = next(
            (token for role, token in self.keys.items() if role.startswith("hospital")),
            "<hospital key>",
        )
        print(f"\n  OpenAPI page: {base_url}/docs (Authorize with a key above)")
        print(f"  Console (every role signs in with its key): {base_url}/console")
        print("  Admit a demo patient, then settle the stay (ready to paste):")
        for line in demo_curls(base_url, hospital_key):
            print(f"    {line}")
        print(flush=True)


def demo_curls(base_url: str, hospital_key: str) -> list[str]:
    """An admission and its settlement as curl commands, with the OpenAPI examples' bodies."""
    from service.china_time import today
    from service.openapi_examples import request_bodies

    bodies = request_bodies(today())
    lines = []
    for path in ("/v1/admissions", "/v1/settlements"):
        body = json.dumps(bodies[("post", path)], ensure_ascii=False, separators=(",", ":"))
        lines.append(
            f"curl -sS -X POST {base_url}{path} -H 'X-API-Key: {hospital_key}' "
            f"-H 'Content-Type: application/json' -d '{body}'"
        )
    return lines


async def seed_demo_data(
    session: AsyncSession, *, hasher: IdHasher, keys_file: Path
) -> DemoReport | None:
    """Seed once. Returns what to print, or the saved keys (those the database holds) when
    already seeded. `keys_file`: `demo_keys_file(settings.database_url)`."""
    if await session.get(Region, "990000") is not None:
        return await saved_report(session, keys_file)
    for region in DEMO_REGIONS:
        session.add(Region.model_validate(region))
    for hospital in DEMO_HOSPITALS:
        session.add(Hospital.model_validate(hospital))
    for fund in DEMO_FUNDS:
        session.add(Fund.model_validate(fund))
    await session.flush()
    report = DemoReport()
    for seeder in _seeders():
        report.notes.extend(await seeder(session, hasher))
    for role, kwargs in (
        ("hospital", {"role": Role.HOSPITAL, "hospital_code": DEMO_HOSPITAL}),
        ("auditor", {"role": Role.AUDITOR, "region_prefix": "99"}),
        ("fund", {"role": Role.FUND, "region_prefix": "99", "fund_code": "F99-BASIC"}),
        ("admin", {"role": Role.ADMIN}),
    ):
        issued = await issue_key(session, label=f"demo {role}", **kwargs)
        report.keys[
            f"{role} ({issued.principal.hospital_code or issued.principal.region_prefix or 'all'})"
        ] = issued.token
    keys_file.write_text(
        json.dumps({"keys": report.keys, "notes": report.notes}, ensure_ascii=False, indent=2)
    )
    return report


async def saved_report(session: AsyncSession, keys_file: Path) -> DemoReport | None:
    """The saved demo keys that this database holds (not revoked), and a note for those it
    does not: a file written for another database (or an older name) would print keys that
    answer 401."""
    if not keys_file.exists():
        return None
    saved = json.loads(keys_file.read_text())
    report = DemoReport(notes=saved.get("notes", []))
    for role, token in saved["keys"].items():
        if await key_of_token(session, token) is not None:
            report.keys[role] = token
    if missing := len(saved["keys"]) - len(report.keys):
        report.notes.append(
            f"{missing} key(s) saved in {keys_file} are not this database's (revoked, or "
            "written for another database) and are not shown; issue one with "
            "`settlecheck keys create`"
        )
    return report


def _seeders() -> list[Callable[[AsyncSession, IdHasher], Awaitable[list[str]]]]:
    """Each concept seeds its own demo rows (policies, roster) and returns lines to print."""
    return concept_hooks("seed", ("service.policy_versions.demo", "service.roster.demo"))
