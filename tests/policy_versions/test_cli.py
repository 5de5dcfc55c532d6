"""`settlecheck policy explain` on every shipped policy, its options and its table; `policy load`
shows the problems it found."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fastapi import FastAPI

from service.cli import main

DATA = Path(__file__).resolve().parents[2] / "service" / "policy" / "data"
SHIPPED = sorted(DATA.glob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_explain_runs_on_every_shipped_policy(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["policy", "explain", str(path), "--bill", "10000,9000,1000"]) == 0
    out = capsys.readouterr().out
    assert "\nlayer" in "\n" + out
    assert "total 10000.00" in out


def test_external_amounts_year_and_lines_are_options(capsys: pytest.CaptureFixture[str]) -> None:
    hubei = DATA / "hubei_420000_2018.yaml"
    assert main(["policy", "explain", str(hubei), "--bill", "10000,9000,1000"]) == 0
    assert "taken as 0.00" in capsys.readouterr().out  # and says so
    args = ["policy", "explain", str(hubei), "--bill", "10000,9000,1000"]
    assert (
        main([*args, "--given", "basic_insurance=5000", "--year", "critical_illness.eligible=100"])
        == 0
    )
    out = capsys.readouterr().out
    assert "5000.00" in out
    shandong_like = DATA / "demo_990000_province.yaml"
    lines = ["--line", "bed=200", "--line", "other=8800", "--line", "drug=1000:out"]
    assert main([*args[:2], str(shandong_like), *args[3:], *lines]) == 0
    capsys.readouterr()
    assert main([*args[:2], str(shandong_like), *args[3:], "--line", "bed=200"]) == 2
    assert "bill lines do not add up" in capsys.readouterr().err
    assert main([*args, "--given", "basic_insurance=999999"]) == 2
    assert "outside" in capsys.readouterr().err


def test_the_table_keeps_its_columns_apart(capsys: pytest.CaptureFixture[str]) -> None:
    yaan = DATA / "sichuan_511800_yaan_2017.yaml"
    assert main(["policy", "explain", str(yaan), "--bill", "10000,9000,1000"]) == 0
    table = capsys.readouterr().out.split("total ")[0].splitlines()
    header = table[0].split()
    for row in table[1:]:
        cells = row.replace(" (n/a)", "(n/a)").replace("; out ", ";out:").split()
        assert len(cells) == len(header), row


async def test_load_shows_the_problems(
    app: FastAPI,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SETTLECHECK_DATABASE_URL", app.state.settings.database_url)
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        'region: "990000"\nname: x\nversion: "1"\neffective_from: 2024-01-01\n'
        "layers:\n  - {code: b, kind: ratio, fund_type: basic_insurance, name: b}\n"
    )
    assert await asyncio.to_thread(main, ["policy", "load", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "1 problem(s)" in err
    assert "a ratio layer needs ratio or ratio_by_level" in err
