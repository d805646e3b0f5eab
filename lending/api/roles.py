"""Who a caller is, as DRF permissions: checked before the body is read, so a caller who may never use an
endpoint is told so (403) rather than shown what a valid body would be (400)."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts.models import User


class IsLender(BasePermission):
    message = "Only lenders have a wallet, a portfolio and lending statistics."

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.user, User) and request.user.is_lender


class IsPartnerOrPlatformStaff(BasePermission):
    message = "Only a field partner's staff and platform staff may do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return isinstance(user, User) and (user.is_platform_staff or user.is_partner_staff)
