from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import path

from daozhang.api import api


def health(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("api/", api.urls),
    path("admin/", admin.site.urls),
    path("healthz", health),
]
