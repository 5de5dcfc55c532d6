"""The demo roster seeds every category and prints numbers a newcomer can try."""

from __future__ import annotations

from fastapi import FastAPI

from service.identity import normalise_resident_id
from service.roster import demo
from service.roster.service import find_in_snapshot


async def test_demo_seed_covers_every_category_and_names_samples(app: FastAPI) -> None:
    async with app.state.sessionmaker() as session:
        lines = await demo.seed(session, app.state.id_hasher)
        await session.commit()
    text = "\n".join(lines)
    for code in demo.CATEGORIES:
        assert code in text
    samples = [line.split()[-1] for line in lines[2:]]
    assert all(normalise_resident_id(s) == s for s in samples)
    async with app.state.sessionmaker() as session:
        for sample in samples[:-1]:
            found = await find_in_snapshot(session, app.state.id_hasher.key_of(sample))
            assert found is not None
            assert found.record is not None
        unknown = await find_in_snapshot(session, app.state.id_hasher.key_of(samples[-1]))
        assert unknown is not None
        assert unknown.record is None
    people = demo.demo_people()
    assert {p.insured_county for p in people} == {"990102", "990103"}
    assert len(people) >= 300
