"""Login, logout and the front door, shared by merchants and staff.

One login page for both: where a user lands is decided by who they are (a merchant user
goes to the portal, a staff member to the console), never by a parameter they can change.
Repeated failures lock the username out (django-axes; limits in settings).
"""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from daozhang.merchants.models import MerchantUser


def landing_url(request: HttpRequest) -> str:
    user = request.user
    if not user.is_authenticated:
        return reverse("web:login")
    if MerchantUser.objects.filter(user=user).exists():
        return reverse("portal:dashboard")
    if user.is_staff:
        return reverse("console:home")
    return reverse("web:login")


def home(request: HttpRequest) -> HttpResponse:
    return HttpResponseRedirect(landing_url(request))


class LoginView(auth_views.LoginView):
    template_name = "web/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        return landing_url(self.request)


logout = require_POST(auth_views.LogoutView.as_view(next_page="web:login"))
