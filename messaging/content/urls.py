"""Message template pages (in the `messaging` namespace, see messaging/urls.py)."""

from django.urls import path

from messaging.content import views

W = "w/<slug:workspace_slug>"

urlpatterns = [
    path(f"{W}/templates/", views.templates, name="templates"),
    path(f"{W}/templates/new/", views.template_create, name="template_create"),
    path(f"{W}/templates/preview/", views.template_preview, name="template_preview"),
    path(f"{W}/templates/<uuid:template_id>/", views.template_edit, name="template_edit"),
    path(
        f"{W}/templates/<uuid:template_id>/delete/",
        views.template_delete,
        name="template_delete",
    ),
    path(
        f"{W}/templates/whatsapp/new/",
        views.whatsapp_template_create,
        name="whatsapp_template_create",
    ),
    path(
        f"{W}/templates/whatsapp/<uuid:whatsapp_template_id>/",
        views.whatsapp_template_detail,
        name="whatsapp_template_detail",
    ),
    path(
        f"{W}/templates/whatsapp/<uuid:whatsapp_template_id>/delete/",
        views.whatsapp_template_delete,
        name="whatsapp_template_delete",
    ),
    path(
        f"{W}/templates/whatsapp/sync/<uuid:number_id>/",
        views.whatsapp_templates_sync,
        name="whatsapp_templates_sync",
    ),
]
