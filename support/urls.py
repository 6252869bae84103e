"""The support desk's dashboard routes, all under /w/<workspace_slug>/ (the tenancy gate).
Staff work tickets in the Django admin (support/admin.py)."""

from django.urls import path

from support import views

app_name = "support"

W = "w/<slug:workspace_slug>"

urlpatterns = [
    path(f"{W}/help/", views.tickets, name="tickets"),
    path(f"{W}/help/new/", views.ticket_new, name="ticket_new"),
    path(f"{W}/help/<uuid:ticket_id>/", views.ticket, name="ticket"),
    path(f"{W}/help/<uuid:ticket_id>/reply/", views.ticket_reply, name="ticket_reply"),
    path(f"{W}/help/<uuid:ticket_id>/close/", views.ticket_close, name="ticket_close"),
    path(
        f"{W}/help/<uuid:ticket_id>/attachments/<uuid:attachment_id>/",
        views.attachment,
        name="attachment",
    ),
]
