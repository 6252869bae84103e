"""Analytics pages (`messaging_analytics` namespace)."""

from django.urls import path

from messaging.analytics import views

app_name = "messaging_analytics"

_A = "w/<slug:workspace_slug>/analytics/"
urlpatterns = [
    path("w/<slug:workspace_slug>/", views.home, name="home"),
    path("w/<slug:workspace_slug>/home/campaigns/", views.home_campaigns, name="home_campaigns"),
    path("w/<slug:workspace_slug>/home/figures/", views.home_kpis_part, name="home_kpis"),
    path(_A, views.overview, name="overview"),
    path(_A + "messages/", views.messages, name="messages"),
]
