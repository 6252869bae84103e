"""Campaign pages (`messaging_campaigns` namespace)."""

from django.urls import path

from messaging.campaigns import views

app_name = "messaging_campaigns"

_C = "w/<slug:workspace_slug>/campaigns/"
urlpatterns = [
    path(_C, views.campaign_list, name="list"),
    path(_C + "new/", views.campaign_new, name="new"),
    path(_C + "safety/", views.sending_safety, name="safety"),
    path(_C + "audience/", views.campaign_audience_preview, name="audience_preview"),
    path(_C + "risk/", views.campaign_risk_preview, name="risk_preview"),
    path(_C + "template-part/", views.campaign_template_part, name="template_part"),
    path(_C + "messages/", views.message_log, name="messages"),
    path(_C + "inbox/", views.inbox, name="inbox"),
    path(_C + "<uuid:campaign_id>/", views.campaign_detail, name="detail"),
    path(_C + "<uuid:campaign_id>/progress/", views.campaign_progress, name="progress"),
    path(_C + "<uuid:campaign_id>/send-rate/", views.campaign_send_rate, name="send_rate"),
    path(_C + "<uuid:campaign_id>/media/", views.campaign_media, name="media"),
    path(_C + "<uuid:campaign_id>/edit/", views.campaign_edit, name="edit"),
    path(
        _C + "<uuid:campaign_id>/<slug:action>/",
        views.campaign_action,
        name="action",
    ),
]
