"""`settlecheck hospitals import FILE`: CSV or XLSX, the API's rules, all or nothing, every bad
row named by its line."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from openpyxl import Workbook

from service.cli import main
from tests import factories as f

HEADER = "code,name,county_code,level,tier,designated\n"
NEW = "H990102101"


@pytest.fixture(autouse=True)
def cli_database(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI opens the test's database."""
    monkeypatch.setenv("SETTLECHECK_DATABASE_URL", app.state.settings.database_url)


@pytest.fixture
def sheet(tmp_path: Path) -> Path:
    return tmp_path / "hospitals.csv"


def _write(sheet: Path, *rows: str, encoding: str = "utf-8") -> None:
    """The header and one line per row (line 2 onwards)."""
    sheet.write_text(HEADER + "".join(f"{row}\n" for row in rows), encoding=encoding)


async def _import(path: Path) -> int:
    return await asyncio.to_thread(main, ["hospitals", "import", str(path)])


async def _hospital(
    client: httpx.AsyncClient, headers: dict[str, str], code: str
) -> httpx.Response:
    return await client.get(f"/v1/hospitals/{code}", headers=headers)


async def test_a_csv_adds_changes_and_keeps_hospitals(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    sheet: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _write(
        sheet,
        f"{NEW},演示县城关镇卫生院,{f.COUNTY},primary,township,是",
        f"{f.COUNTY_HOSPITAL},演示县人民医院,{f.COUNTY},secondary,county,false",
        f"{f.TOWNSHIP_HOSPITAL},演示县青山镇卫生院,{f.COUNTY},primary,township,true",
        encoding="utf-8-sig",  # as a spreadsheet program saves it
    )
    assert await _import(sheet) == 0
    out = capsys.readouterr().out
    assert f"added   {NEW} 演示县城关镇卫生院 ({f.COUNTY})" in out
    assert f"changed {f.COUNTY_HOSPITAL}: designated True -> False" in out
    assert "1 added, 1 changed, 1 unchanged" in out
    added = (await _hospital(client, admin_headers, NEW)).json()
    assert (added["tier"], added["designated"]) == ("township", True)
    changed = (await _hospital(client, admin_headers, f.COUNTY_HOSPITAL)).json()
    assert changed["designated"] is False

    assert await _import(sheet) == 0  # the same sheet again changes nothing
    assert "0 added, 0 changed, 3 unchanged" in capsys.readouterr().out


async def test_an_xlsx_with_number_and_boolean_cells_is_read(
    client: httpx.AsyncClient, admin_headers: dict[str, str], tmp_path: Path
) -> None:
    book = Workbook()
    book.active.append(["code", "name", "county_code", "level", "tier", "designated"])
    book.active.append([NEW, "演示县城关镇卫生院", int(f.COUNTY), "primary", "township", False])
    book.save(tmp_path / "hospitals.xlsx")
    assert await _import(tmp_path / "hospitals.xlsx") == 0
    added = (await _hospital(client, admin_headers, NEW)).json()
    assert (added["county_code"], added["designated"]) == (f.COUNTY, False)


async def test_one_bad_row_imports_nothing_and_every_bad_row_is_named(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    sheet: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _write(
        sheet,
        f"{NEW},演示县城关镇卫生院,{f.COUNTY},primary,township,true",  # line 2: good
        f"{f.COUNTY_HOSPITAL},演示县人民医院,{f.COUNTY},secondary,county,false",  # 3: good
        "H980199001,无县医院,980199,primary,township,true",  # line 4
        f"H990102102,等级有误,{f.COUNTY},first,township,true",  # line 5
        f"{NEW},重复,{f.COUNTY},primary,township,true",  # line 6
        "H990100001,市级区划,990100,primary,township,true",  # line 7
        f"H990102103,{'医' * 200},{f.COUNTY},primary,township,maybe",  # line 8
    )
    assert await _import(sheet) == 2
    err = capsys.readouterr().err
    assert "error (hospital_import_refused)" in err
    assert "line 4 county_code: county 980199 is not registered" in err
    assert "line 5 level:" in err
    assert f"line 6 code: {NEW} is on line 2 too" in err
    assert "line 7 county_code: region 990100 is a prefecture" in err
    assert "line 8 name:" in err
    assert "line 8 designated:" in err
    assert "line 2" not in err.replace("on line 2", "")
    assert (await _hospital(client, admin_headers, NEW)).status_code == 404
    unchanged = (await _hospital(client, admin_headers, f.COUNTY_HOSPITAL)).json()
    assert unchanged["designated"] is True


async def test_designated_is_true_false_or_是_否_in_any_case_and_nothing_else(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    sheet: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    row = f"{NEW},演示县城关镇卫生院,{f.COUNTY},primary,township,"
    for word in ("yes", "1", "no", "0", "on"):  # what lax parsing would have guessed at
        _write(sheet, row + word)
        assert await _import(sheet) == 2, word
        assert "line 2 designated: expected true or false" in capsys.readouterr().err
    assert (await _hospital(client, admin_headers, NEW)).status_code == 404
    _write(sheet, row + "TRUE")  # as a spreadsheet program writes its own booleans
    assert await _import(sheet) == 0
    assert (await _hospital(client, admin_headers, NEW)).json()["designated"] is True


async def test_a_lower_case_code_is_refused_not_folded(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    sheet: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _write(sheet, f"{f.COUNTY_HOSPITAL.lower()},演示县人民医院,{f.COUNTY},secondary,county,true")
    assert await _import(sheet) == 2
    assert "line 2 code: codes are written in upper case" in capsys.readouterr().err
    assert (await _hospital(client, admin_headers, f.COUNTY_HOSPITAL)).status_code == 200
    listed = await client.get("/v1/hospitals", headers=admin_headers)
    assert f.COUNTY_HOSPITAL.lower() not in {h["code"] for h in listed.json()}


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("code,name,county_code,level,tier\n", "it must name each of"),
        (HEADER.replace("\n", ",notes\n"), "it must name each of"),
        ("", "the sheet is empty"),
    ],
    ids=["missing-column", "extra-column", "empty"],
)
async def test_a_sheet_without_the_right_header_is_refused(
    sheet: Path, capsys: pytest.CaptureFixture[str], content: str, words: str
) -> None:
    sheet.write_text(content, encoding="utf-8")
    assert await _import(sheet) == 2
    assert words in capsys.readouterr().err


async def test_a_blank_row_of_a_csv_is_skipped_as_an_xlsx_one_is(
    client: httpx.AsyncClient, admin_headers: dict[str, str], sheet: Path
) -> None:
    """A spreadsheet program saves a blank row of the sheet as a line of commas: a row with no
    value, skipped as the XLSX reader skips it, not a hospital with every field missing that
    refuses the whole sheet."""
    _write(
        sheet,
        ",,,,,",
        f"{NEW},演示县城关镇卫生院,{f.COUNTY},primary,township,是",
        " , ,,,,",
        encoding="utf-8-sig",
    )
    assert await _import(sheet) == 0
    added = (await _hospital(client, admin_headers, NEW)).json()
    assert added["name"] == "演示县城关镇卫生院"
