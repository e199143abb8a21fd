"""URLs of the peer of benchmark 3: Django admin's stock site at ``/admin/`` (the user
changelist at its default ``list_per_page`` of 100), and a second admin site at
``/admin25/`` whose only difference is ``list_per_page = 25``, the panel's page size."""

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.urls import path


class UserAdmin25(UserAdmin):
    list_per_page = 25


site25 = admin.AdminSite(name="admin25")
site25.register(User, UserAdmin25)
site25.register(Group, GroupAdmin)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("admin25/", site25.urls),
]
