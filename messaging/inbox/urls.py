"""Team inbox pages (`messaging_inbox` namespace), under /w/<workspace_slug>/inbox/."""

from django.urls import path

from messaging.inbox import views

app_name = "messaging_inbox"

_I = "w/<slug:workspace_slug>/inbox/"
_C = _I + "<uuid:conversation_id>/"
urlpatterns = [
    path(_I, views.inbox, name="list"),
    path(_I + "unread/", views.unread, name="unread"),
    path(_I + "access/", views.inbox_access, name="access"),
    path(_I + "canned/", views.canned_replies, name="canned"),
    path(_I + "canned/<uuid:canned_id>/", views.canned_reply_edit, name="canned_edit"),
    path(_I + "canned/<uuid:canned_id>/delete/", views.canned_reply_delete, name="canned_delete"),
    path(_C, views.conversation, name="conversation"),
    path(_C + "since/", views.conversation_since, name="since"),
    path(_C + "earlier/", views.conversation_earlier, name="earlier"),
    path(_C + "reply/", views.conversation_reply, name="reply"),
    path(_C + "template/", views.conversation_template, name="template"),
    path(_C + "canned-text/", views.conversation_canned_text, name="canned_text"),
    path(_C + "assign/", views.conversation_assign, name="assign"),
    path(_C + "status/", views.conversation_status, name="status"),
    path(_C + "note/", views.conversation_note, name="note"),
    path(_C + "labels/", views.conversation_labels, name="labels"),
    path(_C + "opt-out/", views.conversation_opt_out, name="opt_out"),
    path(_C + "opt-in/", views.conversation_opt_in, name="opt_in"),
]
