from django.urls import path

from privacy import views

app_name = "privacy"

urlpatterns = [
    path("terms/", views.policy_page, {"kind": "terms"}, name="terms"),
    path("privacy/", views.policy_page, {"kind": "privacy"}, name="privacy"),
    path("cookies/", views.policy_page, {"kind": "cookies"}, name="cookies"),
    path("subprocessors/", views.subprocessors, name="subprocessors"),
    path("subprocessors/transfers.csv", views.transfers_csv, name="transfers_csv"),
    path("retention/", views.retention, name="retention"),
    path("privacy/accept/", views.policy_accept, name="accept"),
    path("privacy/cookie-consent/", views.cookie_consent, name="cookie_consent"),
    path("privacy/cookie-settings/", views.cookie_settings, name="cookie_settings"),
    path("privacy/request-deletion/", views.deletion_request, name="deletion_request"),
    path("privacy/request-deletion/sent/", views.deletion_request_sent, name="deletion_sent"),
    path(
        "privacy/request-deletion/confirm/<str:token>/",
        views.deletion_confirm,
        name="deletion_confirm",
    ),
    path(
        "privacy/account/reactivate/<str:token>/",
        views.account_reactivate,
        name="account_reactivate",
    ),
    path("privacy/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("account/privacy/", views.centre, name="centre"),
    path("account/privacy/consent/", views.centre_consent, name="centre_consent"),
    path("account/privacy/restrict/", views.centre_restrict, name="centre_restrict"),
    path("account/privacy/export/", views.centre_export, name="centre_export"),
    path(
        "account/privacy/export/<uuid:export_id>/download/",
        views.export_download,
        name="export_download",
    ),
    path("account/privacy/delete/", views.centre_delete, name="centre_delete"),
    path("account/privacy/deactivate/", views.centre_deactivate, name="centre_deactivate"),
    path(
        "w/<slug:workspace_slug>/privacy/erase-number/",
        views.erase_number,
        name="erase_number",
    ),
]
