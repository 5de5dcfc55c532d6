"""Problems the ledger's readers and rectifiers can meet."""

from __future__ import annotations

from service.errors import Conflict, Forbidden, NotFound, Unprocessable


class ViolationNotFound(NotFound):
    code = "violation_not_found"


class InvalidTransition(Conflict):
    code = "invalid_transition"
    title = "This status change is not allowed"


class TransitionForbidden(Forbidden):
    code = "transition_forbidden"


class NoteRequired(Unprocessable):
    code = "note_required"


class BadCursor(Unprocessable):
    code = "bad_cursor"
