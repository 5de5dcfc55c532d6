"""Every table model, imported once so the metadata (and Alembic) sees the whole schema."""

from service.admissions.models import Admission, AdmissionDeposit, AdmissionEvent
from service.auth.models import ApiKey
from service.clearing.models import (
    ClearingPayment,
    ClearingReconciliation,
    ClearingStatement,
    ClearingStatementLine,
    Fund,
)
from service.console.models import ConsoleSession
from service.policy_versions.models import PolicyVersion, PolicyVersionEvent
from service.receivables.models import (
    DefaulterMark,
    Instalment,
    Receivable,
    ReceivablePayment,
    Reminder,
)
from service.regions.models import Hospital, Region
from service.roster.models import RosterEntry, RosterPointer, RosterSnapshot
from service.settlements.models import Accumulator, Settlement, SettlementReversal
from service.violations.models import LedgerHead, Violation, ViolationTransition
from service.yearend.models import YearEndPayment

__all__ = [
    "Accumulator",
    "Admission",
    "AdmissionDeposit",
    "AdmissionEvent",
    "ApiKey",
    "ConsoleSession",
    "ClearingPayment",
    "ClearingReconciliation",
    "ClearingStatement",
    "ClearingStatementLine",
    "Fund",
    "DefaulterMark",
    "Hospital",
    "Instalment",
    "LedgerHead",
    "PolicyVersion",
    "PolicyVersionEvent",
    "Receivable",
    "ReceivablePayment",
    "Region",
    "Reminder",
    "RosterEntry",
    "RosterPointer",
    "RosterSnapshot",
    "Settlement",
    "SettlementReversal",
    "Violation",
    "ViolationTransition",
    "YearEndPayment",
]
