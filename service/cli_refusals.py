"""What an operator's command says when the ground under it is wrong: a file that is not there,
a value a schema refuses, a database it cannot reach or a migration that stops. The operator
needs the one line that says what to fix; a traceback buries it (and may quote a row)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy.exc
from alembic.util.exc import CommandError
from pydantic import ValidationError

BAD_INPUT = 2
BAD_GROUND = 1  # the database or the schema, not what the operator typed


@dataclass(frozen=True, slots=True)
class Refusal:
    message: str
    exit_code: int


def operator_refusal(exc: BaseException) -> Refusal | None:
    """The message for `exc`, or None for a defect, which keeps its traceback."""
    if isinstance(exc, OSError):
        # The file named on the command line (FileNotFoundError, IsADirectoryError, ...).
        where = f" {exc.filename}" if exc.filename else ""
        return Refusal(f"error: cannot read{where}: {exc.strerror or exc}", BAD_INPUT)
    if isinstance(exc, ValidationError):
        lines = [f"error (validation_error): {exc.error_count()} value(s) refused"]
        for err in exc.errors(include_input=False, include_url=False):
            field = ".".join(str(part) for part in err["loc"]) or exc.title
            lines.append(f"  {field}: {err['msg']}")
        return Refusal("\n".join(lines), BAD_INPUT)
    if isinstance(exc, sqlalchemy.exc.OperationalError | sqlalchemy.exc.InterfaceError):
        # The driver's own first line names the host or file; the statement and its parameters
        # (which may hold a person's data) are left out.
        first = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        return Refusal(
            f"error (database_unavailable): {first}\n"
            "  check SETTLECHECK_DATABASE_URL, and `settlecheck db upgrade` on a new database",
            BAD_GROUND,
        )
    if isinstance(exc, CommandError):
        return Refusal(f"error (migration): {exc}", BAD_GROUND)
    return None
