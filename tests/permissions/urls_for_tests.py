"""A URL configuration for middleware tests: one view of each declaration kind, plus one
that declares nothing."""

from django.http import HttpResponse, JsonResponse
from django.urls import include, path

from controlpanel.kit.declarations import api_area, public, requires, self_service


def undeclared(request):
    return HttpResponse("secret data")


@public
def open_page(request):
    return HttpResponse("open")


@self_service
def own_page(request):
    return HttpResponse("own")


@requires("customer", "read")
def customer_list(request):
    return HttpResponse("customer rows: ACME")


@api_area("customer")
def customer_api(request):
    return JsonResponse({"method": request.method, "rows": ["ACME"]})


urlpatterns = [
    path("", own_page, name="dashboard"),
    path("undeclared/", undeclared),
    path("open/", open_page),
    path("own/", own_page),
    path("customers/", customer_list),
    path("api/cp/customer", customer_api),
    path("accounts/", include("accounts.urls")),
]
