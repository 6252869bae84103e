"""Numbers pages (`messaging_numbers` namespace)."""

from django.urls import path

from messaging.numbers import views

app_name = "messaging_numbers"

_N = "w/<slug:workspace_slug>/numbers/"
urlpatterns = [
    path(_N, views.number_list, name="list"),
    path(_N + "add/", views.number_add, name="add"),
    path(_N + "<uuid:sender_id>/", views.number_detail, name="detail"),
    path(_N + "<uuid:sender_id>/pair/", views.number_pair, name="pair"),
    path(_N + "<uuid:sender_id>/pair/status/", views.number_pair_status, name="pair_status"),
    path(_N + "<uuid:sender_id>/qr.png", views.number_qr, name="qr"),
    path(_N + "<uuid:sender_id>/test/", views.number_test, name="test"),
    path(_N + "<uuid:sender_id>/health/", views.number_health_check, name="health"),
    path(_N + "<uuid:sender_id>/remove/", views.number_remove, name="remove"),
    path(_N + "<uuid:sender_id>/appeal-pack/", views.number_appeal_pack, name="appeal_pack"),
    path(_N + "<uuid:sender_id>/replace/", views.number_replace, name="replace"),
    path(_N + "<uuid:sender_id>/warmup/", views.number_warmup, name="warmup"),
    path(
        _N + "<uuid:sender_id>/protection/clear/",
        views.number_protection_clear,
        name="protection_clear",
    ),
]
