"""iSend settings: one module, configured by environment variables.

Development defaults are safe and local; with DEBUG off, the variables that must not be guessed
(SECRET_KEY, ALLOWED_HOSTS, FIELD_ENCRYPTION_KEY) are required and their absence fails loudly.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw not in (None, "") else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)
TESTING = env_bool("ISEND_TESTING", False)

# Development-only fallbacks. They are never used when DEBUG is off (see below).
_DEV_SECRET_KEY = "dev-insecure-secret-key-change-me-0123456789abcdefghijklmnopqrstuvwxyz"  # noqa: S105 - refused when DEBUG is off
_DEV_FIELD_KEY = "ZGV2LW9ubHktZmllbGQtZW5jcnlwdGlvbi1rZXktMDA="  # urlsafe b64 of 32 bytes

SECRET_KEY = env("SECRET_KEY")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver" if DEBUG else "")
FIELD_ENCRYPTION_KEY = env("FIELD_ENCRYPTION_KEY")

if not DEBUG:
    missing = [
        name
        for name, value in (
            ("SECRET_KEY", SECRET_KEY),
            ("ALLOWED_HOSTS", ALLOWED_HOSTS),
            ("FIELD_ENCRYPTION_KEY", FIELD_ENCRYPTION_KEY),
        )
        if not value
    ]
    if missing:
        raise ImproperlyConfigured(
            "These environment variables are required when DEBUG is off: " + ", ".join(missing)
        )
    if FIELD_ENCRYPTION_KEY == _DEV_FIELD_KEY:
        # The development key is public (it is in this file): secrets encrypted with it are
        # readable by anyone. Refused in production (issue 17).
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY is the public development key, which is refused when DEBUG is "
            'off. Generate a key with: python -c "from cryptography.fernet import Fernet; '
            'print(Fernet.generate_key().decode())"'
        )
SECRET_KEY = SECRET_KEY or _DEV_SECRET_KEY
FIELD_ENCRYPTION_KEY = FIELD_ENCRYPTION_KEY or _DEV_FIELD_KEY

# Salt of the recipient suppression list's phone hashes. Keep it stable: changing it makes
# every suppressed number importable again. Falls back to SECRET_KEY when unset.
PRIVACY_HASH_SALT = env("PRIVACY_HASH_SALT")
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", SITE_URL)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",  # OpClass in index expressions (trigram search indexes)
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "accounts",
    "messaging",
    "billing",
    "privacy",
    "automation",
    "integrations",
    "support",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "isend.middleware.ApiBodyTooLargeMiddleware",
    "isend.middleware.RejectNullCharactersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.language.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.UserSessionMiddleware",
    "accounts.tenancy.WorkspaceMiddleware",
    "privacy.middleware.PolicyAcceptanceMiddleware",
    "isend.middleware.SecurityHeadersMiddleware",
    "isend.middleware.ApiRequestLogMiddleware",
]

ROOT_URLCONF = "isend.urls"
WSGI_APPLICATION = "isend.wsgi.application"
ASGI_APPLICATION = "isend.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.shell",
            ],
        },
    },
]

DATABASE_URL = env("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/isend")
DATABASES = {
    "default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))
}
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# No JIT compilation: our statements are short and many; JIT's compile time (seconds on
# statements whose row estimates are large, such as trigger transition tables and fan-out's
# INSERT ... SELECT) is never won back.
DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", "redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": env("CACHE_URL", REDIS_URL),
        "KEY_PREFIX": env("CACHE_KEY_PREFIX", "isend"),
    }
}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if TESTING:
    # Argon2 is deliberately slow; tests create hundreds of users.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("az", _("Azerbaijani")), ("ru", _("Russian"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# English dates day first ("05.12.2026"), as az and ru write them: see isend/formats/.
FORMAT_MODULE_PATH = ["isend.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
MEDIA_URL = "/media/"
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 50 * 1024 * 1024)
IMPORT_FILE_RETENTION_DAYS = env_int("IMPORT_FILE_RETENTION_DAYS", 7)
# Spreadsheet caps (issue 17, F4: zip bombs): the sum of an XLSX's unpacked members, the
# compression ratio of any member over 1 MB, and the rows and columns of any import.
IMPORT_XLSX_MAX_UNCOMPRESSED_BYTES = env_int(
    "IMPORT_XLSX_MAX_UNCOMPRESSED_BYTES", 256 * 1024 * 1024
)
IMPORT_XLSX_MAX_COMPRESSION_RATIO = env_int("IMPORT_XLSX_MAX_COMPRESSION_RATIO", 100)
IMPORT_MAX_ROWS = env_int("IMPORT_MAX_ROWS", 1_000_000)
IMPORT_MAX_COLUMNS = env_int("IMPORT_MAX_COLUMNS", 100)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- E-mail -------------------------------------------------------------------------------
EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", str(BASE_DIR / "var" / "mail"))
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "iSend <no-reply@isend.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
SUPPORT_EMAIL = env("SUPPORT_EMAIL", "support@isend.local")
# The support desk (support/): attachments' size cap, and how long a closed ticket (its
# messages and attachments) is kept before the retention job purges it.
SUPPORT_ATTACHMENT_MAX_BYTES = env_int("SUPPORT_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
SUPPORT_TICKET_RETENTION_DAYS = env_int("SUPPORT_TICKET_RETENTION_DAYS", 365)

# --- Security -----------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 60 * 60 * 24 * 14)
CSRF_COOKIE_SAMESITE = "Lax"
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
CONTENT_SECURITY_POLICY = env(
    "CONTENT_SECURITY_POLICY",
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'self'",
)

# Outgoing HTTP to user-supplied URLs (webhooks, gateways) may reach private addresses only
# when this is on: development (the local sandbox) and tests.
ALLOW_PRIVATE_WEBHOOK_URLS = env_bool("ALLOW_PRIVATE_WEBHOOK_URLS", DEBUG)

# --- django-allauth -----------------------------------------------------------------------
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[iSend] "
ACCOUNT_SIGNUP_FORM_CLASS = "accounts.forms.SignupExtraForm"
ACCOUNT_FORMS = {"login": "accounts.auth_forms.LoginForm"}
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_RATE_LIMITS = {
    # Failed sign-ins slow down the (account, IP) pair (accounts/login_throttle.py) instead of
    # locking an account for everyone or an office's address (issue 17, F8). This per-IP cap is
    # only a flood guard, far above what people behind one address mistype.
    "login_failed": env("LOGIN_FAILED_RATE_LIMIT", "100/m/ip"),
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
}
LOGIN_SLOWDOWN_FREE_ATTEMPTS = env_int("LOGIN_SLOWDOWN_FREE_ATTEMPTS", 3)
LOGIN_SLOWDOWN_BASE_SECONDS = env_int("LOGIN_SLOWDOWN_BASE_SECONDS", 5)
LOGIN_SLOWDOWN_MAX_SECONDS = env_int("LOGIN_SLOWDOWN_MAX_SECONDS", 900)
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "iSend"
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"

# --- REST API -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.api_auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.api_auth.HasWorkspaceApiKey"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "core.pagination.DefaultCursorPagination",
    # JSON refuses NUL characters (core.api.JSONParser); forms and uploads as DRF's defaults.
    "DEFAULT_PARSER_CLASSES": [
        "core.api.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": ["accounts.api_auth.ApiKeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api_key": env("API_RATE_LIMIT", "600/min")},
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "iSend API",
    "DESCRIPTION": "WhatsApp bulk messaging: contacts, templates, campaigns, messages, billing.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    # Swagger UI is served from our own static files: no CDN, works offline and under the CSP.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Choice sets whose field name other resources share get their own schema names.
    # Every operation's error answers (400/401/403/404/409/429), documented in one place.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "isend.openapi.add_error_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "NumberStatusEnum": "messaging.numbers.models.Sender.Status",
        "NumberProviderEnum": "messaging.numbers.models.Sender.Provider",
    },
}

# --- Celery -------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = [Queue("default"), Queue("dispatch"), Queue("webhooks"), Queue("imports")]
CELERY_TASK_ROUTES = {
    "messaging.tasks.dispatch_*": {"queue": "dispatch"},
    "messaging.tasks.webhook_*": {"queue": "webhooks"},
    "messaging.tasks.import_*": {"queue": "imports"},
    "integrations.tasks.webhook_*": {"queue": "webhooks"},
}
# Redis redelivers an unacked task after this many seconds: well above the longest task (tasks
# are kept under a minute) and well below the default hour. Celery reads it in three places.
CELERY_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", 600)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
CELERY_VISIBILITY_TIMEOUT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_BEAT_SCHEDULE = {
    "beat-heartbeat": {"task": "accounts.tasks.beat_heartbeat_task", "schedule": 30.0},
    "numbers-warmup-and-protection": {
        "task": "messaging.tasks.numbers_keep_alive_task",
        "schedule": 900.0,
    },
    "purge-api-request-logs": {
        "task": "accounts.tasks.api_request_logs_purge_task",
        "schedule": crontab(minute=51, hour=2),
    },
    "purge-expired-invitations": {
        "task": "accounts.tasks.invitations_purge_expired_task",
        "schedule": crontab(minute=17, hour=3),
    },
    "engine-tick": {
        "task": "messaging.tasks.engine_tick_task",
        "schedule": env_float("ENGINE_TICK_SECONDS", 10.0),
    },
    "webhook-events-requeue-stale": {
        "task": "messaging.tasks.webhook_events_requeue_stale_task",
        "schedule": float(env_int("WEBHOOK_EVENT_RETRY_SECONDS", 60)),
    },
    # Live number health: quality, messaging-limit tier and throughput asked of Meta hourly
    # (webhooks report changes at once; this catches the ones missed).
    "numbers-health-refresh": {
        "task": "messaging.tasks.numbers_health_refresh_task",
        "schedule": crontab(minute=41),
    },
    "webhook-deliveries-send": {
        "task": "integrations.tasks.webhook_deliveries_send_task",
        "schedule": 10.0,
    },
    "billing-expire-credits": {"task": "billing.tasks.credits_expire_due_task", "schedule": 300.0},
    # Money and messages reconciled by counting both sides; differences are logged as errors.
    "credits-reconcile": {
        "task": "messaging.tasks.credits_reconcile_task",
        "schedule": crontab(minute=13),
    },
    "prune-contact-vocabulary": {
        "task": "messaging.tasks.contact_vocabulary_prune_task",
        "schedule": crontab(minute=17, hour=4),
    },
    # Meta templates: the daily pull of every Cloud API number's WABA templates (webhooks keep
    # them current in between; this catches templates made or changed in Meta's own tools).
    "whatsapp-templates-sync": {
        "task": "messaging.tasks.whatsapp_templates_sync_all_task",
        "schedule": crontab(minute=29, hour=5),
    },
    "purge-import-files": {
        "task": "messaging.tasks.import_files_purge_task",
        "schedule": crontab(minute=47, hour=3),
    },
    # Privacy retention (privacy policy section 7).
    "privacy-purge-deactivated": {
        "task": "privacy.tasks.accounts_purge_due_task",
        "schedule": crontab(minute=7),
    },
    "privacy-purge-exports": {
        "task": "privacy.tasks.exports_purge_expired_task",
        "schedule": crontab(minute=37),
    },
    "privacy-purge-login-events": {
        "task": "privacy.tasks.login_events_purge_task",
        "schedule": crontab(minute=23, hour=2),
    },
    "privacy-purge-sessions": {
        "task": "privacy.tasks.sessions_purge_task",
        "schedule": crontab(minute=26, hour=2),
    },
    "privacy-purge-audit-events": {
        "task": "privacy.tasks.audit_events_purge_task",
        "schedule": crontab(minute=29, hour=2),
    },
    "privacy-purge-message-bodies": {
        "task": "privacy.tasks.message_bodies_purge_task",
        "schedule": crontab(minute=43, hour=2),
    },
    # Closed support tickets after SUPPORT_TICKET_RETENTION_DAYS (support/services.py).
    "support-purge-closed-tickets": {
        "task": "support.tasks.tickets_purge_expired_task",
        "schedule": crontab(minute=53, hour=2),
    },
}

# --- Product settings ---------------------------------------------------------------------
API_LOG_RETENTION_DAYS = env_int("API_LOG_RETENTION_DAYS", 90)
# Message texts (sent and received) are kept this many days unless a workspace's owner chose
# another period (privacy policy section 7; the owner's choice is bounded 30..730 days).
MESSAGE_TEXT_RETENTION_DAYS = env_int("MESSAGE_TEXT_RETENTION_DAYS", 180)
INVITATION_TTL = timedelta(days=env_int("INVITATION_TTL_DAYS", 7))
BEAT_STALE_AFTER_SECONDS = env_int("BEAT_STALE_AFTER_SECONDS", 180)
HEALTHZ_MAX_DUE_AGE_SECONDS = env_int("HEALTHZ_MAX_DUE_AGE_SECONDS", 300)
# The oldest-due-message check gives up after this long (it then says it could not tell).
HEALTHZ_QUERY_TIMEOUT_MS = env_int("HEALTHZ_QUERY_TIMEOUT_MS", 2000)
HEALTHZ_REQUIRE_BEAT = env_bool("HEALTHZ_REQUIRE_BEAT", not DEBUG)
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY")
STRIPE_PUBLISHABLE_KEY = env("STRIPE_PUBLISHABLE_KEY")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET")
STRIPE_ENABLED = bool(STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET)
WHATSAPP_GRAPH_URL = env("WHATSAPP_GRAPH_URL", "https://graph.facebook.com").rstrip("/")
WHATSAPP_GRAPH_VERSION = env("WHATSAPP_GRAPH_VERSION", "v23.0")
# Billing: the seller on invoices and the VAT rate (package prices include VAT).
INVOICE_SELLER_NAME = env("INVOICE_SELLER_NAME", "iSend")
INVOICE_SELLER_ADDRESS = env("INVOICE_SELLER_ADDRESS", "Baku, Azerbaijan")
INVOICE_SELLER_TAX_ID = env("INVOICE_SELLER_TAX_ID")
# The seller's bank details (several lines; a literal "\\n" in the variable is a line break).
# Bank transfer is offered only when they are set; they are shown on the order page, the
# pro-forma and the order e-mail, beside the payment reference.
INVOICE_SELLER_BANK_DETAILS = env("INVOICE_SELLER_BANK_DETAILS").replace("\\n", "\n").strip()
INVOICE_VAT_RATE = env_float("INVOICE_VAT_RATE", 0.18)
# The engine: error-rate breaker (pause a campaign when at least MIN failures are more than
# RATIO of its finished sends) and how long an unconfirmed send waits for a webhook before resend.
ENGINE_BREAKER_MIN_FAILURES = env_int("ENGINE_BREAKER_MIN_FAILURES", 50)
ENGINE_BREAKER_FAILURE_RATIO = env_float("ENGINE_BREAKER_FAILURE_RATIO", 0.5)
ENGINE_AMBIGUOUS_RESEND_AFTER = env_int("ENGINE_AMBIGUOUS_RESEND_AFTER", 900)
# Keeping numbers alive (issue #21): the ban-risk score from which a launch asks for an explicit
# confirmation; a new or replacement number's warm-up (daily caps, one step per healthy day);
# automatic protection (the recent block or opt-out rate that slows a number, then pauses it).
RISK_CONFIRM_SCORE = env_int("RISK_CONFIRM_SCORE", 60)
WARMUP_STEPS = [int(n) for n in env_list("WARMUP_STEPS", "50,100,200,400,800,1600")]
PROTECTION_SLOW_RATE = env_float("PROTECTION_SLOW_RATE", 0.01)
PROTECTION_PAUSE_RATE = env_float("PROTECTION_PAUSE_RATE", 0.03)
# Restoring a slowed number's pace: once it is healthy (quality not lowered, its block and
# opt-out rates under PROTECTION_RESTORE_RATE) and nothing tripped for PROTECTION_RESTORE_HOURS,
# one step up every PROTECTION_RESTORE_HOURS, at most PROTECTION_RESTORE_STEPS steps.
PROTECTION_RESTORE_RATE = env_float("PROTECTION_RESTORE_RATE", 0.005)
PROTECTION_RESTORE_HOURS = env_int("PROTECTION_RESTORE_HOURS", 24)
PROTECTION_RESTORE_STEPS = env_int("PROTECTION_RESTORE_STEPS", 4)
# A killed drainer's in-flight messages (lease expired) may have reached the gateway: they wait
# this long, and until every webhook already received for their number has been applied,
# before they are sent again (a status arriving meanwhile settles them without a resend).
ENGINE_INTERRUPTED_RESEND_AFTER = env_int("ENGINE_INTERRUPTED_RESEND_AFTER", 60)
ENGINE_KICK_DRAINERS = env_bool("ENGINE_KICK_DRAINERS", True)
# How long a claimed message stays leased to its drainer (a killed worker's messages go back
# to the queue after this; keep it well above a drain slice plus the send timeout), and the
# HTTP timeout of one send (a timeout after the request left makes the send ambiguous).
# A claimed message's lease and a number's drain lock are short and renewed by the drainer's
# heartbeat (messaging/engine/heartbeat.py): a killed drainer's work is picked up within about
# ENGINE_LEASE_SECONDS plus a tick, a slow but living one keeps it.
ENGINE_LEASE_SECONDS = env_int("ENGINE_LEASE_SECONDS", 30)
ENGINE_DRAIN_LOCK_SECONDS = env_float("ENGINE_DRAIN_LOCK_SECONDS", 15.0)
ENGINE_HEARTBEAT_SECONDS = env_float("ENGINE_HEARTBEAT_SECONDS", 5.0)
if min(ENGINE_DRAIN_LOCK_SECONDS, ENGINE_LEASE_SECONDS) <= ENGINE_HEARTBEAT_SECONDS * 2:
    raise ImproperlyConfigured(
        "ENGINE_HEARTBEAT_SECONDS must be less than half of ENGINE_DRAIN_LOCK_SECONDS and of "
        "ENGINE_LEASE_SECONDS (a lease must survive a missed beat)."
    )
ENGINE_SEND_TIMEOUT_SECONDS = env_float("ENGINE_SEND_TIMEOUT_SECONDS", 10.0)
# Outgoing webhooks: per-request timeout, how long a failing delivery is retried, and when an
# endpoint that keeps failing is disabled (this many failures in a row, or failing this long).
WEBHOOK_TIMEOUT_SECONDS = env_float("WEBHOOK_TIMEOUT_SECONDS", 10.0)
WEBHOOK_RETRY_WINDOW_HOURS = env_int("WEBHOOK_RETRY_WINDOW_HOURS", 24)
WEBHOOK_DISABLE_AFTER_FAILURES = env_int("WEBHOOK_DISABLE_AFTER_FAILURES", 100)
WEBHOOK_DISABLE_AFTER_HOURS = env_int("WEBHOOK_DISABLE_AFTER_HOURS", 24)
# Incoming gateway webhooks (stored, then applied by a task): a stored event not applied after
# WEBHOOK_EVENT_RETRY_SECONDS is queued again by the sweep (which runs that often); after
# WEBHOOK_EVENT_MAX_ATTEMPTS attempts it is marked failed with its last error and left alone.
WEBHOOK_EVENT_RETRY_SECONDS = env_int("WEBHOOK_EVENT_RETRY_SECONDS", 60)
WEBHOOK_EVENT_MAX_ATTEMPTS = env_int("WEBHOOK_EVENT_MAX_ATTEMPTS", 10)
# Stored events are applied in batches (one transaction, one UPDATE per number for all their
# statuses) by at most WEBHOOK_DRAINERS drain tasks at a time, each taking up to
# WEBHOOK_DRAIN_BATCH events per transaction.
WEBHOOK_DRAIN_BATCH = env_int("WEBHOOK_DRAIN_BATCH", 200)
WEBHOOK_DRAINERS = env_int("WEBHOOK_DRAINERS", 2)
# A webhook receiver remembers a number's routing and secret for this long per process (the
# lookup was most of a receipt's cost); a number removed meanwhile is refused after it. 0: off.
WEBHOOK_SENDER_CACHE_SECONDS = env_float("WEBHOOK_SENDER_CACHE_SECONDS", 5.0)
SANDBOX_GATEWAY_URL = env("SANDBOX_GATEWAY_URL", "http://127.0.0.1:9100").rstrip("/")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
