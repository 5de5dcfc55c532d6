"""`_format` and `Accept`: JSON is the only format served; asking for another is a 406
OperationOutcome, never a 200 in JSON the client did not ask for. The specification (Resource
formats, normative): "If a server receives a request for its Capability Statement in a format it
does not otherwise support, it SHALL return a 406 Not Acceptable"."""

from __future__ import annotations

import httpx
import pytest

from tests.fhir.conftest import claim, fhir_body, outcome, post


@pytest.mark.parametrize(
    "query", ["_format=xml", "_format=application/fhir%2Bxml", "_format=text/xml", "_format=ttl"]
)
async def test_metadata_in_another_format_is_not_acceptable(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], query: str
) -> None:
    response = await client.get(f"/fhir/metadata?{query}", headers=hospital_headers)
    issue = outcome(response, 406, "fhir_not_acceptable")
    assert issue["code"] == "not-supported"
    assert "application/fhir+json" in issue["diagnostics"]


@pytest.mark.parametrize("accept", ["application/fhir+xml", "application/xml, text/xml;q=0.9"])
async def test_an_accept_header_without_json_is_not_acceptable(
    client: httpx.AsyncClient, hospital_headers: dict[str, str], accept: str
) -> None:
    headers = {**hospital_headers, "Accept": accept}
    read = await client.get("/fhir/metadata", headers=headers)
    assert read.status_code == 406
    assert outcome(read, 406, "fhir_not_acceptable")["code"] == "not-supported"
    posted = await post(
        client, hospital_headers, "Claim", claim("V1", use="predetermination"), Accept=accept
    )
    assert posted.status_code == 406
    assert outcome(posted, 406, "fhir_not_acceptable")["code"] == "not-supported"


@pytest.mark.parametrize(
    ("query", "accept"),
    [
        ("", None),
        ("_format=json", None),
        ("_format=application/fhir%2Bjson", None),
        ("_format=application/json", None),
        ("_format=application/fhir%2Bjson;fhirVersion=4.0", None),
        ("", "*/*"),
        ("", "application/fhir+json; fhirVersion=4.0"),
        ("", "application/fhir+xml;q=1, application/json;q=0.5"),
        ("", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),  # a browser
        ("_format=json", "application/fhir+xml"),  # _format overrides Accept
    ],
)
async def test_json_is_served_when_it_is_acceptable(
    client: httpx.AsyncClient,
    hospital_headers: dict[str, str],
    query: str,
    accept: str | None,
) -> None:
    headers = {**hospital_headers, **({"Accept": accept} if accept else {})}
    response = await client.get(f"/fhir/metadata?{query}", headers=headers)
    assert response.status_code == 200, response.text
    fhir_body(response, "CapabilityStatement")
