"""The import wizard's pages (in the `messaging` namespace, see messaging/urls.py)."""

from django.urls import path

from messaging.imports import views

W = "w/<slug:workspace_slug>"

urlpatterns = [
    path(f"{W}/contacts/imports/", views.imports, name="imports"),
    path(f"{W}/contacts/imports/<uuid:import_id>/", views.import_detail, name="import_detail"),
    path(
        f"{W}/contacts/imports/<uuid:import_id>/progress/",
        views.import_progress,
        name="import_progress",
    ),
    path(
        f"{W}/contacts/imports/<uuid:import_id>/cancel/",
        views.import_cancel,
        name="import_cancel",
    ),
    path(
        f"{W}/contacts/imports/<uuid:import_id>/rejected.csv",
        views.import_rejections_csv,
        name="import_rejections_csv",
    ),
]
