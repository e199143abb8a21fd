"""URLs of the peer of benchmark 3 (``benchmarks/peer.py``): Django admin with each list at
the panel's page size (users, groups and resellers 25 a page, the audit log 50), and a
second site at ``/admin50/`` whose user changelist lists 50 (the panel's access review
page size). Everything else is stock ``UserAdmin`` / ``GroupAdmin``, including
``show_full_result_count`` (a second COUNT under a search or filter)."""

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.urls import path

from controlpanel.audit.models import AuditEntry
from resellers.models import Reseller


class PeerUserAdmin(UserAdmin):
    list_per_page = 25  # the panel's USERS_PER_PAGE


class PeerGroupAdmin(GroupAdmin):
    list_per_page = 25  # the panel's GROUPS_PER_PAGE


class ResellerAdmin(admin.ModelAdmin):
    list_display = ("name", "email", "active", "created_at")  # the panel's columns
    search_fields = ("name", "email")
    ordering = ("name",)
    list_per_page = 25


class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("at", "actor_label", "action", "object_type", "object_id", "address")
    list_per_page = 50  # the panel's audit PAGE_SIZE


class ReviewUserAdmin(UserAdmin):
    list_per_page = 50  # the panel's REVIEW_PAGE_SIZE


admin.site.unregister(User)
admin.site.unregister(Group)
admin.site.register(User, PeerUserAdmin)
admin.site.register(Group, PeerGroupAdmin)
admin.site.register(Reseller, ResellerAdmin)
admin.site.register(AuditEntry, AuditEntryAdmin)

site50 = admin.AdminSite(name="admin50")
site50.register(User, ReviewUserAdmin)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("admin50/", site50.urls),
]
