from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from daozhang.api import api
from daozhang.web.views import admin_login


def health(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("api/", api.urls),
    # The admin signs in through the one login page (throttle, second factor), not its own form.
    path("admin/login/", admin_login),
    path("admin/", admin.site.urls),
    path("healthz", health),
    path("i18n/", include("django.conf.urls.i18n")),
    path("portal/", include("daozhang.portal.urls")),
    path("console/", include("daozhang.console.urls")),
    path("", include("daozhang.web.urls")),
]
