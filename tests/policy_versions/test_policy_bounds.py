"""A policy document is bounded before it is built: a YAML alias bomb, a nesting a thousand deep
or a flood of nodes gets a quick 422 with a stable code, in little memory, off the event loop."""

from __future__ import annotations

import threading
import time
import tracemalloc
from pathlib import Path

import httpx
import pytest

from service.policy import PolicyError, parse_policy
from service.policy.yamlsource import LIMITS, DocumentTooComplex, load_yaml


def billion_laughs(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels + 1):
        refs = ", ".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    lines.append(f"region: *a{levels}")
    return "\n".join(lines) + "\n"


def aliases_nesting_aliases(links: int = 60, each: int = 30) -> str:
    """Each anchor nests the one before it `each` levels down: the text is 31 deep, the
    document as built 1,800 (and only ~1,800 nodes, inside the node bound)."""
    lines = ["d0: &d0 " + "[" * each + "1" + "]" * each]
    for i in range(1, links):
        lines.append(f"d{i}: &d{i} " + "[" * each + f"*d{i - 1}" + "]" * each)
    lines.append(f"region: *d{links - 1}")
    return "\n".join(lines) + "\n"


NESTED = "region: " + "[" * 2000 + "]" * 2000 + "\n"  # twice Python's recursion limit
FLOOD = "region: [" + ", ".join(["1"] * 20_000) + "]\n"
HOSTILE = [
    (billion_laughs(), "nodes"),
    (NESTED, "depth"),
    (FLOOD, "nodes"),
    ("a: &a [*a]\n", "aliases"),  # an alias inside the node it names: endless
    ("a: &a {k: *a}\n", "aliases"),
    (aliases_nesting_aliases(), "depth"),
]
HOSTILE_IDS = [
    "alias bomb",
    "deep nesting",
    "node flood",
    "recursive list",
    "recursive mapping",
    "aliases nesting aliases",
]


@pytest.mark.parametrize(("text", "limit"), HOSTILE, ids=HOSTILE_IDS)
async def test_a_hostile_document_gets_a_quick_422_in_little_memory(
    client: httpx.AsyncClient, admin_headers: dict[str, str], text: str, limit: str
) -> None:
    tracemalloc.start()
    started = time.monotonic()
    try:
        response = await client.post(
            "/v1/policies", json={"source_text": text}, headers=admin_headers
        )
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "policy_too_complex"
    assert limit in body["detail"]
    # About a second here; generous for a loaded 2-core machine under tracemalloc. Before the
    # bounds, a bomb of 6 levels had no answer in 300 s, and one of 9 grew a worker to 5.7 GB.
    assert elapsed < 30
    assert peak < 50 * 1024 * 1024


def test_aliases_are_counted_and_bounded() -> None:
    anchors = "base: &b {x: 1}\n" + "".join(f"k{i}: *b\n" for i in range(LIMITS.aliases + 1))
    with pytest.raises(DocumentTooComplex, match="aliases"):
        load_yaml(anchors)


def test_a_few_aliases_still_load() -> None:
    data = load_yaml("base: &b {x: 1}\nfirst: *b\nsecond: *b\n")
    assert data["second"] == {"x": 1}


def test_the_document_size_is_bounded_before_parsing() -> None:
    with pytest.raises(DocumentTooComplex, match="characters"):
        load_yaml("# " + "x" * LIMITS.characters)


def test_a_too_complex_document_is_a_policy_error_naming_the_limit() -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(billion_laughs(), source="bomb.yaml")
    assert caught.value.problems[0].source == "bomb.yaml"
    assert "nodes" in caught.value.problems[0].message


@pytest.mark.parametrize("value", ["0x10", "0b101", "1:30", "190:20:30"])
def test_yaml_1_1_integer_forms_are_read_as_text_not_a_crash(value: str) -> None:
    text = f"region: '990102'\nversion: v\neffective_from: 2025-01-01\nname: {value}\n"
    assert load_yaml(text)["name"] == value
    try:
        parse_policy(text)
    except PolicyError:
        pass  # a problem naming the field is fine; a ValueError (a 500 at the API) is not


def test_every_shipped_policy_is_well_inside_the_bounds() -> None:
    from pathlib import Path

    import service.policy

    data = Path(service.policy.__file__).parent / "data"
    paths = sorted(data.glob("*.yaml"))
    parsed = [parse_policy(path.read_text(), source=path.name) for path in paths]
    assert len(parsed) == len(paths) >= 9  # every shipped document passes the bounds
    assert all(doc.region_code in path.name for doc, path in zip(parsed, paths, strict=True))


async def test_the_document_is_parsed_off_the_event_loop(
    client: httpx.AsyncClient, admin_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from service.policy_versions import service as versions

    threads: list[threading.Thread] = []
    real = versions.parse_policy

    def spy(text: str, *, source: str = "<string>") -> object:
        threads.append(threading.current_thread())
        return real(text, source=source)

    monkeypatch.setattr(versions, "parse_policy", spy)
    response = await client.post(
        "/v1/policies", json={"source_text": "region: '990102'\n"}, headers=admin_headers
    )
    assert response.status_code == 422
    assert threads
    assert all(t is not threading.main_thread() for t in threads)


async def test_a_recursive_document_is_a_422_on_what_if_too(
    client: httpx.AsyncClient, auditor_headers: dict[str, str]
) -> None:
    # Any auditor reaches the what-if; before, this was a 500 (RecursionError) that also
    # dropped the client's kept-alive connection.
    for text in ("a: &a [*a]\n", aliases_nesting_aliases()):
        response = await client.post(
            "/v1/policies/whatif", json={"source_text": text, "over": 2026}, headers=auditor_headers
        )
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "policy_too_complex"


def test_policy_check_reports_a_recursive_document(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from service.cli import main

    path = tmp_path / "recursive.yaml"
    path.write_text("a: &a {k: *a}\n", encoding="utf-8")
    assert main(["policy", "check", str(path)]) == 1
    assert "an alias (*name) inside the node it names" in capsys.readouterr().err


def test_a_repeated_key_is_refused_naming_both_lines() -> None:
    # A YAML reader keeps the last of a repeated key: a second `ratio_by_level` lower in the
    # file would have decided what the fund pays, and `policy check` said "ok".
    shipped = Path(service_policy_data(), "demo_990000_province.yaml").read_text()
    lines = shipped.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("name:"))
    repeated = "\n".join([*lines[: at + 1], "name: again", *lines[at + 1 :]]) + "\n"
    with pytest.raises(PolicyError) as caught:
        parse_policy(repeated, source="repeated.yaml")
    problem = caught.value.problems[0]
    assert problem.line == at + 2
    assert f"the key 'name' is repeated (first on line {at + 1})" in problem.message


def service_policy_data() -> Path:
    import service.policy

    return Path(service.policy.__file__).parent / "data"
