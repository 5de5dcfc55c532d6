from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from service.errors import Conflict, FieldProblem, NotFound, Unprocessable
from service.policy import PolicyError, PolicyProblem, PolicyTooComplex


class InvalidPolicy(Unprocessable):
    code = "invalid_policy"
    title = "The policy document is not valid"

    @classmethod
    def from_problems(cls, problems: list[PolicyProblem]) -> InvalidPolicy:
        fields = [
            FieldProblem(
                field=p.path or "<document>",
                message=f"line {p.line}: {p.message}" if p.line else p.message,
                code="invalid_policy",
            )
            for p in problems
        ]
        return cls(f"{len(problems)} problem(s) in the policy document", errors=fields)


class PolicyDocumentTooComplex(Unprocessable):
    code = "policy_too_complex"
    title = "The policy document is too large or too complex"

    @classmethod
    def from_problems(cls, problems: list[PolicyProblem]) -> PolicyDocumentTooComplex:
        reasons = "; ".join(p.message for p in problems)
        return cls(f"the policy document is refused before it is read: {reasons}")


@contextmanager
def refused_as_policy_problems() -> Iterator[None]:
    """The engine's refusal of a policy text as the caller's 422: `policy_too_complex` when it
    was refused before it was read, else `invalid_policy` with every problem at its path.
    Loading, checking a proposal and laying out the timeline all answer so."""
    try:
        yield
    except PolicyTooComplex as exc:
        raise PolicyDocumentTooComplex.from_problems(exc.problems) from exc
    except PolicyError as exc:
        raise InvalidPolicy.from_problems(exc.problems) from exc


class NoPolicyInForce(Unprocessable):
    code = "no_policy_in_force"
    title = "No policy in force"


class PolicyVersionNotFound(NotFound):
    code = "policy_version_not_found"


class PolicyVersionExists(Conflict):
    code = "policy_version_exists"


class PolicyVersionInEffect(Conflict):
    code = "policy_version_in_effect"
    title = "The policy version is already in effect"


class PolicyVersionHasSettled(Conflict):
    code = "policy_version_has_settled"
    title = "The policy version has settled visits"


class PolicySuccessionOutOfOrder(Conflict):
    code = "policy_succession_out_of_order"
    title = "A later version of the region exists"


class PolicySuccessionRetroactive(Conflict):
    code = "policy_succession_retroactive"
    title = "The new version would change settlements already made"


class PolicyPlanYearMoved(Conflict):
    code = "policy_plan_year_moved"
    title = "The new version would move the plan year's start"
