"""Dashboard routes of outgoing webhooks, under the Developers page of a workspace."""

from django.urls import path

from integrations import views

app_name = "integrations"

_W = "w/<slug:workspace_slug>/developers/webhooks/"
_E = _W + "<uuid:endpoint_id>/"
urlpatterns = [
    path(_W, views.endpoint_list, name="list"),
    path(_E, views.endpoint_detail, name="detail"),
    path(_E + "rotate/", views.endpoint_rotate, name="rotate"),
    path(_E + "toggle/", views.endpoint_toggle, name="toggle"),
    path(_E + "delete/", views.endpoint_delete, name="delete"),
    path(_E + "test/", views.endpoint_test, name="test"),
    path(
        _E + "deliveries/<uuid:delivery_id>/replay/",
        views.delivery_replay,
        name="replay",
    ),
]
