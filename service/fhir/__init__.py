"""An HL7 FHIR R4 interface (R4B models of `fhir.resources`) over the same person, settlement
and admission services as the JSON API: resources in, resources out, no rule of its own
(docs/fhir.md, ADR 0015)."""
