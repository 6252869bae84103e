from django.urls import path

from . import views

app_name = "privacy"

urlpatterns = [
    path("terms/", views.policy_page, {"kind": "terms"}, name="terms"),
    path("privacy/", views.policy_page, {"kind": "privacy"}, name="privacy"),
    path("cookies/", views.policy_page, {"kind": "cookies"}, name="cookies"),
]
