"""The slip's printed page: each layout's `@page { size }` is one CSS can read, so the browser
prints on that paper (a value it cannot read is dropped, and the page falls back to the
printer's default: Letter, with the receipt's 72 mm column on it)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from tests import factories
from tests.browser import CHROMIUM, NO_NETWORK, needs_chromium
from tests.factories import settle, settlement_request

# CSS Paged Media 3, `size`: <length>{1,2} | auto | [ <page-size> || [ portrait | landscape ] ]
LENGTH = re.compile(r"(?:\d+|\d*\.\d+)(?:mm|cm|q|in|pt|pc|px)", re.IGNORECASE)
PAGE_SIZES = {"a5", "a4", "a3", "b5", "b4", "jis-b5", "jis-b4", "letter", "legal", "ledger"}
ORIENTATIONS = {"portrait", "landscape"}
MM_PER_POINT = 25.4 / 72


def is_page_size(value: str) -> bool:
    words = value.lower().split()
    if words == ["auto"]:
        return True
    if 1 <= len(words) <= 2 and all(LENGTH.fullmatch(w) for w in words):
        return True
    names = [w for w in words if w in PAGE_SIZES]
    turns = [w for w in words if w in ORIENTATIONS]
    return (
        1 <= len(words) <= 2
        and len(names) <= 1
        and len(turns) <= 1
        and (len(names) + len(turns) == len(words))
    )


def page_size(html: str) -> str:
    rules = re.findall(r"@page\s*\{([^}]*)\}", html)
    assert len(rules) == 1, rules
    sizes = re.findall(r"(?:^|;)\s*size\s*:\s*([^;]+?)\s*(?:;|$)", rules[0])
    assert len(sizes) == 1, rules[0]
    return str(sizes[0])


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("80mm auto", False),
        ("auto 80mm", False),
        ("80mm 297mm", True),
        ("80mm", True),
        ("A4", True),
        ("a4 landscape", True),
        ("portrait", True),
        ("A4 A5", False),
        ("80 mm", False),
    ],
)
def test_the_grammar_check_reads_size_as_css_does(value: str, valid: bool) -> None:
    assert is_page_size(value) is valid


async def _slip(
    app: FastAPI, client: httpx.AsyncClient, headers: dict[str, str], layout: str
) -> str:
    async with app.state.sessionmaker() as s:
        visit = await factories.make_admission(s)
    result = await settle(client, headers, settlement_request(visit.visit_id))
    response = await client.get(
        f"/v1/settlements/{result['id']}/slip", params={"layout": layout}, headers=headers
    )
    assert response.status_code == 200
    return response.text


@pytest.mark.parametrize(("layout", "width"), [("receipt", "80mm"), ("a4", "a4")])
async def test_each_layout_names_a_page_size_css_can_read(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    layout: str,
    width: str,
) -> None:
    size = page_size(await _slip(app, client, hospital_headers, layout))
    assert is_page_size(size), size
    assert size.lower().split()[0] == width


def _media_box_mm(pdf: bytes) -> tuple[float, float]:
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert boxes, "no MediaBox in the PDF"
    width, height = (float(v) for v in boxes[0])
    return width * MM_PER_POINT, height * MM_PER_POINT


@pytest.mark.parametrize(
    ("layout", "width_mm", "height_mm"), [("receipt", 80, 297), ("a4", 210, 297)]
)
@needs_chromium[0]
@needs_chromium[1]
async def test_the_slip_prints_to_a_pdf_on_its_layouts_paper(
    app: FastAPI,
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    tmp_path: Path,
    layout: str,
    width_mm: int,
    height_mm: int,
) -> None:
    page = tmp_path / "slip.html"
    page.write_text(await _slip(app, client, hospital_headers, layout), encoding="utf-8")
    pdf = tmp_path / "slip.pdf"
    subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
            NO_NETWORK,
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--print-to-pdf={pdf}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    width, height = _media_box_mm(pdf.read_bytes())
    # Chromium lays the page out in whole CSS pixels: within half a millimetre.
    assert abs(width - width_mm) < 0.5, (width, height)
    assert abs(height - height_mm) < 0.5, (width, height)
