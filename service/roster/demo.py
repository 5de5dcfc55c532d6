"""The demo roster: a few hundred synthetic people of 演示县 (990102) and 邻县 (990103), in every
category, with the data-quality problems real rosters have. The stand-in registry serves the
same people, so the demo answers alike from either."""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from service.base import utcnow
from service.identity import IdHasher, check_character
from service.roster.loading import load_people
from service.roster.rows import RosterPerson

CATEGORIES = (
    "registered_poor",
    "lifted_out",
    "minimum_living",
    "destitute",
    "monitored_unstable",
    "monitored_edge",
    "monitored_sudden",
    "low_income_edge",
    "medical_aid_recipient",
)
BIRTH_REGIONS = ("500112", "511802", "340102", "420111", "450102")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"


def _id_number(rng: random.Random, seq: int) -> str:
    born = date(1940, 1, 1) + timedelta(days=rng.randrange(75 * 365))
    first17 = f"{rng.choice(BIRTH_REGIONS)}{born:%Y%m%d}{seq % 1000:03d}"
    return first17 + check_character(first17)


def demo_people(count: int = 300, *, seed: int = 990102) -> list[RosterPerson]:
    rng = random.Random(seed)
    people = []
    for i in range(count):
        code = CATEGORIES[i % len(CATEGORIES)]
        start = date(2016 + rng.randrange(6), 1, 1)
        categories: tuple[tuple[str, date, date | None], ...] = ((code, start, None),)
        if code == "lifted_out":
            categories = (("registered_poor", date(2016, 1, 1), date(2020, 12, 31)),) + (
                (code, date(2021, 1, 1), None),
            )
        people.append(
            RosterPerson(
                id_number=_id_number(rng, i + 1),
                insured_county="990102" if i % 4 else "990103",
                categories=categories,
                family_doctor_until=None if i % 10 == 7 else date(2027, 12, 31),
                chronic_card_until=date(2027, 6, 30) if i % 3 == 0 else None,
                name=rng.choice(SURNAMES) + rng.choice("明华强丽芳军平秀英"),
            )
        )
    people.append(  # a known data-quality problem: deceased but still active
        RosterPerson(
            id_number=_id_number(rng, 998),
            insured_county="990102",
            categories=(("registered_poor", date(2016, 1, 1), None),),
            deceased=True,
            family_doctor_until=date(2027, 12, 31),
        )
    )
    return people


def unknown_person() -> str:
    """A valid ID number nobody in the demo roster has."""
    first17 = "11010519850101999"
    return first17 + check_character(first17)


async def seed(session: AsyncSession, hasher: IdHasher) -> list[str]:
    people = demo_people()
    snapshot = await load_people(
        session,
        people=people,
        hasher=hasher,
        taken_at=utcnow() - timedelta(days=1),
        source_name="demo roster",
    )
    lines = [
        f"roster snapshot #{snapshot.id}: {len(people)} people of 990102/990103, taken yesterday",
        "try an admission (POST /v1/admissions) or GET /v1/persons/<id>/status with:",
    ]
    for code in CATEGORIES:
        sample = next(
            p for p in people if p.categories[-1][0] == code and p.insured_county == "990102"
        )
        lines.append(f"  {code:<22} {sample.id_number}")
    lines.append(f"  {'deceased but active':<22} {people[-1].id_number}")
    lines.append(f"  {'not in the roster':<22} {unknown_person()}")
    return lines
