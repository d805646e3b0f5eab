"""Admin for people and organisations."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts.models import BorrowerProfile, FieldPartner, LenderProfile, PartnerStaff, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "role", "is_active", "is_staff", "date_joined"]
    list_filter = ["role", "is_active", "is_staff"]
    search_fields = ["email", "full_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("full_name", "role")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "role", "password1", "password2")}),)


@admin.register(LenderProfile)
class LenderProfileAdmin(admin.ModelAdmin):
    list_display = ["display_name", "user", "country"]
    search_fields = ["display_name", "user__email"]


@admin.register(BorrowerProfile)
class BorrowerProfileAdmin(admin.ModelAdmin):
    list_display = ["display_name", "country", "partner", "user"]
    list_filter = ["country", "partner"]


class PartnerStaffInline(admin.TabularInline):
    model = PartnerStaff
    extra = 0


@admin.register(FieldPartner)
class FieldPartnerAdmin(admin.ModelAdmin):
    list_display = ["name", "country", "status", "risk_rating"]
    list_filter = ["status", "country"]
    inlines = [PartnerStaffInline]
