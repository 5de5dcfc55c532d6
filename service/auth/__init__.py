from service.auth.deps import (
    AdminDep,
    AuditorDep,
    AuditorOrHospitalDep,
    ClearingCloserDep,
    ClearingPayerDep,
    ClearingReaderDep,
    ClearingReconcilerDep,
    HospitalCodeDep,
    HospitalDep,
    KeyCacheDep,
    PrincipalDep,
    require_roles,
)
from service.auth.principal import Principal, Role

__all__ = [
    "AdminDep",
    "AuditorDep",
    "AuditorOrHospitalDep",
    "ClearingCloserDep",
    "ClearingPayerDep",
    "ClearingReaderDep",
    "ClearingReconcilerDep",
    "HospitalCodeDep",
    "HospitalDep",
    "KeyCacheDep",
    "Principal",
    "PrincipalDep",
    "Role",
    "require_roles",
]
