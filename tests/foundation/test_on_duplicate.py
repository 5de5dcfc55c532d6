"""`db.on_duplicate_raise`: a store's `Duplicate` becomes the service's own error."""

from __future__ import annotations

import pytest

from service.clearing.errors import PaymentReferenceConflict as Taken
from service.db import Duplicate, on_duplicate_raise


def test_a_duplicate_inside_is_answered_with_the_given_error_chained_to_it() -> None:
    with pytest.raises(Taken) as raised, on_duplicate_raise(Taken("taken first", field="ref")):
        raise Duplicate("uq_ref")
    assert isinstance(raised.value.__cause__, Duplicate)
    assert raised.value.errors[0].field == "ref"


def test_other_errors_and_a_clean_exit_pass_through() -> None:
    with pytest.raises(KeyError), on_duplicate_raise(Taken("never")):
        raise KeyError("x")
    with on_duplicate_raise(Taken("never")):
        done = True
    assert done
