"""Dashboard routes of the messaging app, all under /w/<workspace_slug>/ (the tenancy gate)."""

from django.urls import path

from messaging.contacts import views as contacts
from messaging.content import views as templates
from messaging.imports import views as imports

app_name = "messaging"

W = "w/<slug:workspace_slug>"

urlpatterns = [
    path(f"{W}/contacts/", contacts.contacts, name="contacts"),
    path(f"{W}/contacts/new/", contacts.contact_create, name="contact_create"),
    path(f"{W}/contacts/export.csv", contacts.contacts_export, name="contacts_export"),
    path(f"{W}/contacts/<uuid:contact_id>/", contacts.contact_detail, name="contact_detail"),
    path(
        f"{W}/contacts/<uuid:contact_id>/opt-out/",
        contacts.contact_opt_out,
        name="contact_opt_out",
    ),
    path(f"{W}/contacts/<uuid:contact_id>/opt-in/", contacts.contact_opt_in, name="contact_opt_in"),
    path(f"{W}/contacts/<uuid:contact_id>/delete/", contacts.contact_delete, name="contact_delete"),
    path(f"{W}/contacts/lists/", contacts.lists, name="lists"),
    path(f"{W}/contacts/lists/<uuid:list_id>/", contacts.list_detail, name="list_detail"),
    path(f"{W}/contacts/lists/<uuid:list_id>/delete/", contacts.list_delete, name="list_delete"),
    path(f"{W}/contacts/segments/", contacts.segments, name="segments"),
    path(f"{W}/contacts/segments/preview/", contacts.segment_preview, name="segment_preview"),
    path(
        f"{W}/contacts/segments/<uuid:segment_id>/",
        contacts.segment_detail,
        name="segment_detail",
    ),
    path(
        f"{W}/contacts/segments/<uuid:segment_id>/delete/",
        contacts.segment_delete,
        name="segment_delete",
    ),
    path(f"{W}/contacts/imports/", imports.imports, name="imports"),
    path(f"{W}/contacts/imports/<uuid:import_id>/", imports.import_detail, name="import_detail"),
    path(
        f"{W}/contacts/imports/<uuid:import_id>/progress/",
        imports.import_progress,
        name="import_progress",
    ),
    path(
        f"{W}/contacts/imports/<uuid:import_id>/cancel/",
        imports.import_cancel,
        name="import_cancel",
    ),
    path(
        f"{W}/contacts/imports/<uuid:import_id>/rejected.csv",
        imports.import_rejections_csv,
        name="import_rejections_csv",
    ),
    path(f"{W}/templates/", templates.templates, name="templates"),
    path(f"{W}/templates/new/", templates.template_create, name="template_create"),
    path(f"{W}/templates/preview/", templates.template_preview, name="template_preview"),
    path(f"{W}/templates/<uuid:template_id>/", templates.template_edit, name="template_edit"),
    path(
        f"{W}/templates/<uuid:template_id>/delete/",
        templates.template_delete,
        name="template_delete",
    ),
]
