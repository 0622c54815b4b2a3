"""Guarding staff pages: sign-in first, then the page's own permission.

A page decorated with ``staff_page()`` sends a visitor who is not signed in
to the sign-in page (and back afterwards), and refuses with 403 a signed-in
user the predicate does not allow: by default, anyone holding no post.
The services check permission again for every action the page offers.
"""

from contextlib import contextmanager
from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.utils.http import url_has_allowed_host_and_scheme

from yizhan.core.errors import ApplicationError, NotFound, PermissionDenied
from yizhan.directory.authz import scope_of


def safe_next(request, default: str) -> str:
    """The ``next`` a form or link asks to return to, if it is this site's; else ``default``."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return default


def is_staff(user) -> bool:
    return scope_of(user).is_staff


def staff_page(allowed=is_staff):
    def decorate(view):
        @wraps(view)
        def guarded(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not allowed(request.user):
                raise PermissionDenied()
            return view(request, *args, **kwargs)

        return guarded

    return decorate


@contextmanager
def refusal_shown(request):
    """Run a page's action; a refusal becomes a message on the page it returns to.

    ``NotFound`` still answers 404, so a page never tells anyone that an
    object they may not see exists.
    """
    try:
        yield
    except NotFound:
        raise
    except ApplicationError as exc:
        messages.error(request, exc.render())


# Rows of a list page; portal/_pager.html links a page to the others.
PAGE_SIZE = 50


def paged(request, rows):
    """The page of ``rows`` that ``?page=`` asks for (the last for a number too large)."""
    return Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
