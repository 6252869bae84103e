from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts import views as account_views
from isend.api_urls import urlpatterns as api_urlpatterns
from isend.health import healthz

api_patterns = (
    [
        *api_urlpatterns,
        path("schema/", SpectacularAPIView.as_view(), name="schema"),
        path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    ],
    "api",
)

urlpatterns = [
    path("", account_views.home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    # allauth's sign-up, told about the invitation it comes from (accounts.views.SignupView).
    path("accounts/signup/", account_views.signup, name="account_signup"),
    path("accounts/", include("allauth.urls")),
    # The language switcher (header and footer): Django's set_language, saved to the profile.
    path("i18n/setlang/", account_views.language_set, name="set_language"),
    path("api/v1/", include(api_patterns)),
    path("", include("privacy.urls")),
    path("", include("messaging.numbers.receiver_urls")),
    path("", include("messaging.numbers.urls")),
    path("", include("messaging.campaigns.urls")),
    path("", include("messaging.analytics.urls")),
    path("", include("messaging.inbox.urls")),
    path("", include("billing.urls")),
    path("", include("integrations.urls")),
    path("", include("accounts.urls")),
    path("", include("messaging.urls")),
    path("", include("automation.urls")),
    path("", include("support.urls")),
]
