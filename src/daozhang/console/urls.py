from django.urls import path

from daozhang.console import views

app_name = "console"
urlpatterns = [
    path("", views.home, name="home"),
]
