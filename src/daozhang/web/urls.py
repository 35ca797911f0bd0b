from django.urls import path

from daozhang.web import views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("login/verify/", views.two_factor_verify, name="two_factor_verify"),
    path("login/two-factor/", views.two_factor, name="two_factor"),
    path("logout/", views.logout, name="logout"),
]
