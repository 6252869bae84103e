"""Dashboard routes of the automation app, all under /w/<workspace_slug>/ (the tenancy gate)."""

from django.urls import path

from automation import views

app_name = "automation"

W = "w/<slug:workspace_slug>"

urlpatterns = [
    path(f"{W}/automation/", views.rules, name="rules"),
    path(f"{W}/automation/new/", views.rule_create, name="rule_create"),
    path(f"{W}/automation/test/", views.rule_test, name="rule_test"),
    path(f"{W}/automation/<uuid:rule_id>/", views.rule_edit, name="rule_edit"),
    path(f"{W}/automation/<uuid:rule_id>/delete/", views.rule_delete, name="rule_delete"),
]
