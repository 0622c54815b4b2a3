"""The composed API: every app's router on the one ``NinjaAPI`` object.

Kept apart from ``core.api`` (which defines the object, its authentication
and its error shape) so that core depends on no app, and so the routers are
added exactly once, whoever imports the API first.
"""

from yizhan.accounts.api import router as accounts_router
from yizhan.audit.api import router as audit_router
from yizhan.cases.api import router as cases_router
from yizhan.catalog.api import router as catalog_router
from yizhan.core.api import api
from yizhan.directory.api import router as directory_router
from yizhan.supervision.api import router as supervision_router
from yizhan.supervision.scoring_api import router as scoring_router

api.add_router("/directory", directory_router)
api.add_router("/accounts", accounts_router)
api.add_router("/audit", audit_router)
api.add_router("/catalog", catalog_router)
api.add_router("", cases_router)
api.add_router("/supervision", supervision_router)
api.add_router("/supervision/scores", scoring_router)

__all__ = ["api"]
