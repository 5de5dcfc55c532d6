"""What a screen reader meets on the console: every form field has a label of its own.

A `<label>` names one control, the first inside it (or the one its `for` names): a second
input wrapped in the same label has no name at all, and the first is read with the other's
words. Checked on the rendered pages, as a browser's accessibility tree would see them."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from fastapi import FastAPI

from service.console.access import NAV
from tests import factories as f
from tests.factories import KeyFactory

CONTROLS = {"input", "select", "textarea"}
WITHOUT_FORMS = {"receivables", "policies"}  # tables only (a test below holds them so)
FORMS = [f"/console/{name}" for name in NAV if name not in WITHOUT_FORMS]
UNNAMED = {"hidden", "submit", "button"}


class _Fields(HTMLParser):
    """Each form field of a page, with the label that names it (None: no label does)."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[tuple[str, str | None]] = []  # (the field's name, its label's key)
        self.labelled_ids: set[str] = set()
        self._open: list[str] = []  # the labels around the parser, each by a key of its own
        self._taken: set[str] = set()  # wrapping labels whose first control is already found

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        if tag == "label":
            if attr.get("for"):
                self.labelled_ids.add(attr["for"] or "")
                self._open.append(f"for:{attr['for']}")  # names another control, not this
            else:
                self._open.append(f"wrap:{self.getpos()}")
        if tag not in CONTROLS or attr.get("type") in UNNAMED:
            return
        name = attr.get("name") or ""
        if attr.get("id") in self.labelled_ids or attr.get("aria-label"):
            self.fields.append((name, f"id:{attr.get('id')}"))
            return
        wrapping = self._open[-1] if self._open and self._open[-1].startswith("wrap:") else None
        if wrapping is None or wrapping in self._taken:
            self.fields.append((name, None))
            return
        self._taken.add(wrapping)
        self.fields.append((name, wrapping))

    def handle_endtag(self, tag: str) -> None:
        if tag == "label" and self._open:
            self._open.pop()


@pytest.mark.parametrize("page", [*FORMS, "/console/login", "/console/violations/{id}"])
async def test_every_form_field_on_a_page_has_a_label_of_its_own(
    app: FastAPI, admin_headers: dict[str, str], page: str
) -> None:
    [violation] = await f.book(app.state.sessionmaker, f.finding(visit_id="V-LABELS"))
    async with f.console_browser(app) as browser:
        if page != "/console/login":
            await f.console_sign_in(browser, admin_headers["X-API-Key"])
        response = await browser.get(page.format(id=violation))
        assert response.status_code == 200, response.text[:300]
        fields = _Fields()
        fields.feed(response.text)
        assert fields.fields, f"{page} has no form field to check"
        unlabelled = [name for name, label in fields.fields if label is None]
        assert unlabelled == [], f"{page}: fields without a label of their own"


@pytest.mark.parametrize("name", sorted(WITHOUT_FORMS))
async def test_the_pages_left_out_above_have_no_form_field(
    app: FastAPI, admin_headers: dict[str, str], name: str
) -> None:
    async with f.console_browser(app) as browser:
        await f.console_sign_in(browser, admin_headers["X-API-Key"])
        response = await browser.get(f"/console/{name}")
        assert response.status_code == 200
        fields = _Fields()
        fields.feed(response.text)
        assert fields.fields == []


async def test_a_page_shown_again_with_an_error_says_so_in_its_title_and_announces_it(
    app: FastAPI, admin_headers: dict[str, str]
) -> None:
    """A screen reader reads a new page's title first: a refused form that came back with
    the same title as before would sound as if nothing had been said."""
    [violation] = await f.book(app.state.sessionmaker, f.finding(visit_id="V-TITLE"))
    async with f.console_browser(app) as browser:
        refused_login = await browser.post("/console/login", data={"api_key": "sck_wrong"})
        assert refused_login.status_code == 401
        assert "<title>未能办理：登录 · 健康帮扶督查</title>" in refused_login.text
        assert '<p role="alert" class="flash err" id="error">' in refused_login.text
        await f.console_sign_in(browser, admin_headers["X-API-Key"])
        page = await browser.get(f"/console/violations/{violation}")
        assert f"<title>问题 #{violation} · 健康帮扶督查</title>" in page.text
        form = {"csrf": f.csrf_in(page.text), "to_status": "verified"}  # not a step from open
        refused = await browser.post(f"/console/violations/{violation}/transitions", data=form)
        assert refused.status_code == 409
        assert f"<title>未能办理：问题 #{violation} · 健康帮扶督查</title>" in refused.text
        assert 'role="alert"' in refused.text
        forbidden = await browser.get("/console/violations/not-a-number")
        assert "<title>未能办理 · 健康帮扶督查</title>" in forbidden.text


async def test_each_revoke_button_names_its_key_and_every_column_has_a_header(
    app: FastAPI, admin_headers: dict[str, str], make_key: KeyFactory
) -> None:
    """A screen reader lists a page's buttons by name: ten buttons all called 停用 do not say
    which key each one stops; nor does a column whose header is empty."""
    await make_key("auditor", region_prefix="9901")
    async with f.console_browser(app) as browser:
        await f.console_sign_in(browser, admin_headers["X-API-Key"])
        page = (await browser.get("/console/keys")).text
    table = page.split('id="keys"')[1].split("</table>")[0]
    assert re.findall(r"<th>([^<]*)</th>", table) == [
        "编号", "角色", "范围", "名称", "签发时间", "状态", "操作"
    ]  # fmt: skip
    shown = re.findall(r'<tr id="key-(\d+)">', table)
    names = re.findall(r'<button type="submit" class="revoke" aria-label="([^"]*)">停用', table)
    revocable = [key for key in shown if f'action="/console/keys/{key}/revoke"' in table]
    assert len(revocable) >= 1
    assert names == [f"停用密钥 #{key}" for key in revocable]
