from django.urls import path

from messaging.analytics import views

app_name = "messaging_analytics"

_A = "w/<slug:workspace_slug>/analytics/"
urlpatterns = [
    path(_A, views.overview, name="overview"),
    path(_A + "messages/", views.messages, name="messages"),
]
