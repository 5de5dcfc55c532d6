"""Problems in Chinese for a desk that asks (Accept-Language: zh-CN): same status and code,
Chinese title, detail and field messages, the English detail kept; English otherwise."""

from __future__ import annotations

import importlib
import pkgutil

import httpx
import pytest

import service
from service.errors import _HTTP_CODES, ServiceError
from service.problems_zh import catalog, wants_chinese

ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}
# Codes the handlers in service/errors.py and the body-size middleware answer with.
HANDLER_CODES = {
    "validation_error",
    "malformed_body",
    "invalid_value",
    "database_unavailable",
    "internal_error",
    "http_error",
    "payload_too_large",
    *(code for code, _ in _HTTP_CODES.values()),
}


def _service_error_codes() -> set[str]:
    for module in pkgutil.walk_packages(service.__path__, "service."):
        importlib.import_module(module.name)
    codes, todo = set(), [ServiceError]
    while todo:
        for sub in todo.pop().__subclasses__():
            codes.add(sub.code)
            todo.append(sub)
    return codes


def test_every_code_the_service_answers_has_chinese_words() -> None:
    missing = (_service_error_codes() | HANDLER_CODES) - set(catalog().problems)
    assert missing == set()


@pytest.mark.parametrize(
    ("header", "chinese"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", True),
        ("zh", True),
        ("zh-Hans-CN", True),
        ("en-US,en;q=0.9,zh-CN;q=0.8", False),
        ("zh;q=0.5, en;q=0.6", False),
        ("zh;q=0", False),
        ("*", False),
        ("zh;q=abc", False),
        ("这不是语言", False),
    ],
)
def test_accept_language_is_read_by_weight(header: str, chinese: bool) -> None:
    assert wants_chinese(header) is chinese


async def test_a_validation_problem_in_chinese(
    client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    body = {"visit_id": "V1", "unexpected": 1}
    zh = await client.post("/v1/admissions", json=body, headers={**hospital_headers, **ZH})
    en = await client.post("/v1/admissions", json=body, headers=hospital_headers)
    assert zh.status_code == en.status_code == 422
    assert zh.json()["code"] == en.json()["code"] == "validation_error"
    assert zh.headers["content-language"] == "zh-CN"
    assert "content-language" not in en.headers
    assert zh.json()["title"] == "请求参数有误"
    assert zh.json()["detail_en"] == en.json()["detail"]
    messages = {e["field"]: e["message"] for e in zh.json()["errors"]}
    assert messages["id_number"] == "必填"
    assert messages["unexpected"] == "不允许的字段"
    assert {e["field"] for e in zh.json()["errors"]} == {e["field"] for e in en.json()["errors"]}
    assert "detail_en" not in en.json()


async def test_a_service_problem_in_chinese_keeps_the_english_detail(
    client: httpx.AsyncClient, hospital_headers: dict[str, str]
) -> None:
    answer = await client.get("/v1/settlements/987654", headers={**hospital_headers, **ZH})
    assert answer.status_code == 404
    problem = answer.json()
    assert problem["code"] == "settlement_not_found"
    assert problem["detail"] == catalog().problems["settlement_not_found"][1]
    assert "987654" in problem["detail_en"]


async def test_an_unauthenticated_desk_reads_chinese(client: httpx.AsyncClient) -> None:
    answer = await client.get("/v1/policies", headers=ZH)
    assert answer.status_code == 401
    assert "X-API-Key" in answer.json()["detail"]
    assert answer.json()["title"] == "需要接口密钥"
