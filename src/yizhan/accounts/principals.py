"""The principal an API token acts as.

A token is not a user: it acts for one agency in one role.  It offers the
attributes the audit log and ``directory.authz.scope_of`` read, so
services treat it like any other actor.
"""

from dataclasses import dataclass

from yizhan.directory.authz import Scope


@dataclass(eq=False)
class TokenPrincipal:
    token_id: int
    prefix: str
    agency_id: int
    agency_path: str
    role: str

    is_authenticated = True
    is_active = True
    is_superuser = False
    is_public_user = False
    is_staff_member = True
    pk = None
    user_id = None

    @property
    def audit_label(self) -> str:
        return f"token:{self.prefix}"

    @property
    def acting_agency_id(self) -> int:
        return self.agency_id

    def build_scope(self) -> Scope:
        from yizhan.directory.models import Agency

        ids = frozenset(
            Agency.objects.filter(path__startswith=self.agency_path).values_list("id", flat=True)
        )
        return Scope(roles={self.role: ids}, home_agency_ids=frozenset({self.agency_id}))

    def get_username(self) -> str:
        return self.audit_label
