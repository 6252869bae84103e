"""Contacts, lists and segments pages (in the `messaging` namespace, see messaging/urls.py)."""

from django.urls import path

from messaging.contacts import views

W = "w/<slug:workspace_slug>"

urlpatterns = [
    path(f"{W}/contacts/", views.contacts, name="contacts"),
    path(f"{W}/contacts/new/", views.contact_create, name="contact_create"),
    path(f"{W}/contacts/export.csv", views.contacts_export, name="contacts_export"),
    path(f"{W}/contacts/<uuid:contact_id>/", views.contact_detail, name="contact_detail"),
    path(
        f"{W}/contacts/<uuid:contact_id>/opt-out/",
        views.contact_opt_out,
        name="contact_opt_out",
    ),
    path(f"{W}/contacts/<uuid:contact_id>/opt-in/", views.contact_opt_in, name="contact_opt_in"),
    path(f"{W}/contacts/<uuid:contact_id>/delete/", views.contact_delete, name="contact_delete"),
    path(f"{W}/contacts/<uuid:contact_id>/reply/", views.contact_reply, name="contact_reply"),
    path(f"{W}/contacts/lists/", views.lists, name="lists"),
    path(f"{W}/contacts/lists/<uuid:list_id>/", views.list_detail, name="list_detail"),
    path(f"{W}/contacts/lists/<uuid:list_id>/delete/", views.list_delete, name="list_delete"),
    path(f"{W}/contacts/segments/", views.segments, name="segments"),
    path(f"{W}/contacts/segments/preview/", views.segment_preview, name="segment_preview"),
    path(
        f"{W}/contacts/segments/<uuid:segment_id>/",
        views.segment_detail,
        name="segment_detail",
    ),
    path(
        f"{W}/contacts/segments/<uuid:segment_id>/delete/",
        views.segment_delete,
        name="segment_delete",
    ),
]
