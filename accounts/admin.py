"""Admin for people and organisations."""

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest

from accounts.models import BorrowerProfile, FieldPartner, LenderProfile, LoginFailure, LoginLock, PartnerStaff, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "role", "is_active", "is_staff", "last_login", "date_joined"]
    list_filter = ["role", "is_active", "is_staff", "is_superuser"]
    search_fields = ["email", "full_name"]
    date_hierarchy = "date_joined"
    readonly_fields = ["last_login", "date_joined"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("full_name", "role")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "role", "password1", "password2")}),)


@admin.register(LenderProfile)
class LenderProfileAdmin(admin.ModelAdmin):
    list_display = ["display_name", "user", "country", "town", "is_public", "created_at"]
    list_filter = ["is_public", "country"]
    search_fields = ["display_name", "user__email"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]


@admin.register(BorrowerProfile)
class BorrowerProfileAdmin(admin.ModelAdmin):
    list_display = ["display_name", "country", "town", "partner", "user", "created_at"]
    list_filter = ["country", "partner"]
    search_fields = ["display_name", "town", "user__email", "partner__name"]
    list_select_related = ["partner", "user"]
    raw_id_fields = ["user"]


class PartnerStaffInline(admin.TabularInline):
    model = PartnerStaff
    extra = 0
    raw_id_fields = ["user"]


@admin.register(FieldPartner)
class FieldPartnerAdmin(admin.ModelAdmin):
    list_display = ["name", "country", "status", "risk_rating", "created_at"]
    list_filter = ["status", "country"]
    search_fields = ["name"]
    inlines = [PartnerStaffInline]


@admin.register(PartnerStaff)
class PartnerStaffAdmin(admin.ModelAdmin):
    list_display = ["user", "partner", "title"]
    list_filter = ["partner"]
    search_fields = ["user__email", "user__full_name", "partner__name"]
    list_select_related = ["user", "partner"]
    raw_id_fields = ["user"]


class LockoutAdmin(admin.ModelAdmin):
    """Log-in lockout rows: looked at, never written here; deleting a lock lets the person try again at once."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(LoginLock)
class LoginLockAdmin(LockoutAdmin):
    list_display = ["kind", "key", "locked_until"]
    list_filter = ["kind"]
    search_fields = ["key"]


@admin.register(LoginFailure)
class LoginFailureAdmin(LockoutAdmin):
    list_display = ["kind", "key", "created_at"]
    list_filter = ["kind"]
    search_fields = ["key"]
    date_hierarchy = "created_at"
