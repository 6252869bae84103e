from django.urls import path

from billing import views

app_name = "billing"

_W = "w/<slug:workspace_slug>/billing"

urlpatterns = [
    path(f"{_W}/", views.overview, name="overview"),
    path(f"{_W}/settings/", views.settings_update, name="settings"),
    path(f"{_W}/buy/", views.pricing, name="pricing"),
    path(f"{_W}/orders/new/", views.buy, name="buy"),
    path(f"{_W}/orders/", views.orders, name="orders"),
    path(f"{_W}/orders/<uuid:order_id>/", views.order_detail, name="order"),
    path(f"{_W}/orders/<uuid:order_id>/status/", views.order_status, name="order_status"),
    path(f"{_W}/orders/<uuid:order_id>/pay/", views.order_pay, name="order_pay"),
    path(f"{_W}/orders/<uuid:order_id>/cancel/", views.order_cancel, name="order_cancel"),
    path(f"{_W}/orders/<uuid:order_id>/proforma/", views.order_proforma, name="order_proforma"),
    path(f"{_W}/invoices/", views.invoices, name="invoices"),
    path(f"{_W}/invoices/<uuid:invoice_id>/", views.invoice_detail, name="invoice"),
    path(f"{_W}/invoices/<uuid:invoice_id>/pdf/", views.invoice_pdf, name="invoice_pdf"),
    path(f"{_W}/ledger/", views.ledger, name="ledger"),
    path(f"{_W}/ledger.csv", views.ledger_csv, name="ledger_csv"),
    path("webhooks/stripe/", views.stripe_webhook, name="stripe_webhook"),
]
