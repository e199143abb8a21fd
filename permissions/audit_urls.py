"""The audit trail (mounted at ``settings/audit/``) and the access review (its own list,
``review_urlpatterns``, mounted at ``settings/access-review/``). No namespace: the
navigation finds the audit area's page by the name ``audit-log-list``."""

from django.urls import path

from . import audit_views

urlpatterns = [
    path("", audit_views.audit_log_list, name="audit-log-list"),
    path("<int:pk>/", audit_views.audit_log_detail, name="audit-log-detail"),
]

review_urlpatterns = [
    path("", audit_views.access_review, name="access-review"),
    path("record/", audit_views.access_review_record, name="access-review-record"),
    path("schedule/", audit_views.access_review_schedule, name="access-review-schedule"),
    path("deactivate/", audit_views.access_review_deactivate, name="access-review-deactivate"),
]
