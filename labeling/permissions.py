"""The DRF permission class of the labeling API; the rules themselves are ``labeling.rules``.

The labeling endpoints only require an active user here: which user may do what is decided by the services
(and, for reads, the selectors), which enforce ``labeling.rules`` for every caller: the API, the admin, the
labeling pages and the model API.
"""

from __future__ import annotations

from rest_framework.permissions import BasePermission

from labeling import rules


class IsActiveUser(BasePermission):
    """Authenticated and not banned."""

    def has_permission(self, request, view) -> bool:
        return rules.is_usable(request.user)
