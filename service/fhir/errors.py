"""Problems of the FHIR interface itself; every problem is answered as an OperationOutcome."""

from __future__ import annotations

from service.errors import NotFound, ServiceError, Unprocessable


class InvalidResource(Unprocessable):
    code = "fhir_invalid_resource"
    title = "The resource is not valid FHIR R4 for this interaction"


class UnsupportedContent(Unprocessable):
    code = "fhir_unsupported_content"
    title = "Valid FHIR, but not something this service can answer"


class UnknownInteraction(NotFound):
    code = "fhir_unknown_interaction"
    title = "This FHIR interaction is not offered (see /fhir/metadata)"


class UnsupportedMediaType(ServiceError):
    status = 415
    code = "fhir_unsupported_media_type"
    title = "Send application/fhir+json"


class WrongInstitution(ServiceError):
    """The resource names another hospital than the key's (NHSA's `nhsa_wrong_institution`)."""

    # A 403 but not a Forbidden: that one is about the key; this one is about the resource.
    status = 403
    code = "fhir_wrong_institution"
    title = "The resource names another hospital than the one of this API key"


class NotAcceptable(ServiceError):
    """`_format` or `Accept` asks for a format not served (XML, Turtle ...): JSON only."""

    status = 406
    code = "fhir_not_acceptable"
    title = "Only application/fhir+json is served"
