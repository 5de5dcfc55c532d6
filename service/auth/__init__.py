from service.auth.deps import (
    AdminDep,
    AuditorOrHospitalDep,
    HospitalDep,
    PrincipalDep,
    require_roles,
)
from service.auth.principal import Principal, Role

__all__ = [
    "AdminDep",
    "AuditorOrHospitalDep",
    "HospitalDep",
    "Principal",
    "PrincipalDep",
    "Role",
    "require_roles",
]
