"""Consents and policy versions: what a user accepted at sign-up, purposes granted and
withdrawn (marketing e-mails, analytics cookies), policy publication with its notice, and the
one-click marketing unsubscribe."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core import signing
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services import absolute_url, audit_record, notify
from privacy.models import Consent, PolicyDocument, PolicyTranslation
from privacy.selectors import policy_current, policy_pending_for_user, policy_text
from privacy.services.profile import privacy_profile_get

POLICY_DIR = Path(__file__).resolve().parent.parent / "policies"
# The policy files that are documents versioned in the database (subprocessors.md is a page).
POLICY_FILES = {"terms": "terms", "privacy": "privacy", "cookies": "cookies"}
MATERIAL_CHANGE_NOTICE = timedelta(days=30)
UNSUBSCRIBE_SALT = "privacy.marketing_unsubscribe"
COOKIE_NAME = "isend_cookie_consent"


def _shown_language(document: PolicyDocument | None, language: str | None) -> str:
    """The language version of ``document`` a reader of ``language`` (default: the active
    language, the page's) was shown: theirs if it exists, else English."""
    if document is None:
        return ""
    reader = language or translation.get_language() or settings.LANGUAGE_CODE
    return policy_text(document=document, language=reader).language


@transaction.atomic
def consent_record_signup(
    *, user: User, ip: str | None, user_agent: str = "", language: str | None = None
) -> list[Consent]:
    """Record what a new user accepted at sign-up: the current terms and privacy policy
    versions (and the language version they read), and the 18+ confirmation, with time and
    IP."""
    consents: list[Consent] = []
    for kind in (PolicyDocument.Kind.TERMS, PolicyDocument.Kind.PRIVACY):
        document = policy_current(kind=kind)
        if document is None:
            raise ImproperlyConfigured(f"No {kind} document is in force; run migrations.")
        consents.append(
            Consent(
                user=user,
                purpose=kind,
                document=document,
                language=_shown_language(document, language),
                ip=ip,
                user_agent=user_agent,
            )
        )
    consents.append(
        Consent(user=user, purpose=Consent.Purpose.AGE_CONFIRMATION, ip=ip, user_agent=user_agent)
    )
    return Consent.objects.bulk_create(consents)


@transaction.atomic
def consent_set(
    *,
    user: User,
    purpose: str,
    granted: bool,
    ip: str | None,
    user_agent: str = "",
    source: str = "privacy_centre",
) -> Consent:
    """Grant or withdraw one purpose. Withdrawal is one call, like granting; the version shown
    (the cookie policy for analytics cookies, the privacy policy for marketing) is recorded."""
    if purpose not in (Consent.Purpose.MARKETING_EMAIL, Consent.Purpose.ANALYTICS_COOKIES):
        raise ValidationError(_("This consent cannot be changed here."))
    kind = (
        PolicyDocument.Kind.COOKIES
        if purpose == Consent.Purpose.ANALYTICS_COOKIES
        else PolicyDocument.Kind.PRIVACY
    )
    document = policy_current(kind=kind)
    consent = Consent.objects.create(
        user=user,
        purpose=purpose,
        document=document,
        language=_shown_language(document, None),
        granted=granted,
        ip=ip,
        user_agent=user_agent[:500],
    )
    if purpose == Consent.Purpose.MARKETING_EMAIL:
        profile = privacy_profile_get(user=user)
        profile.marketing_opt_in = granted
        profile.save(update_fields=["marketing_opt_in"])
    audit_record(
        workspace=None,
        action="privacy.consent_granted" if granted else "privacy.consent_withdrawn",
        actor=user,
        ip=ip,
        details={"purpose": purpose, "document_id": consent.document_id, "source": source},
    )
    return consent


@transaction.atomic
def policy_accept_pending(
    *, user: User, ip: str | None, user_agent: str = "", language: str | None = None
) -> list[Consent]:
    """Record acceptance of every terms/privacy version in force that the user has not
    accepted yet (version, the language version they read, time, IP)."""
    pending = policy_pending_for_user(user=user)
    consents = Consent.objects.bulk_create(
        [
            Consent(
                user=user,
                purpose=doc.kind,
                document=doc,
                language=_shown_language(doc, language),
                ip=ip,
                user_agent=user_agent[:500],
            )
            for doc in pending
        ]
    )
    for consent in consents:
        audit_record(
            workspace=None,
            action="privacy.policy_accepted",
            actor=user,
            ip=ip,
            details={"kind": consent.purpose, "document_id": consent.document_id},
        )
    return consents


def policy_notice_is_short(*, document: PolicyDocument) -> bool:
    """A material change must be announced at least 30 days before it takes effect."""
    return bool(
        document.is_material_change
        and document.effective_at - document.published_at < MATERIAL_CHANGE_NOTICE
    )


@transaction.atomic
def policy_publish(*, document: PolicyDocument, actor: User | None) -> PolicyDocument:
    """Save a new policy version and tell every active user (in-app notice and e-mail)."""
    document.full_clean()
    document.save()
    audit_record(
        workspace=None,
        action="privacy.policy_published",
        actor=actor,
        target=document,
        details={
            "kind": document.kind,
            "version": document.version,
            "effective_at": document.effective_at.isoformat(),
            "material": document.is_material_change,
            "short_notice": policy_notice_is_short(document=document),
        },
    )
    link = reverse(f"privacy:{document.kind}")
    text = _("We published version %(version)s of our %(title)s. It takes effect on %(date)s.") % {
        "version": document.version,
        "title": document.get_kind_display().lower(),
        "date": timezone.localtime(document.effective_at).strftime("%Y-%m-%d"),
    }
    # Restricted users still get this: a policy change is a service notice, not marketing.
    for user in User.objects.filter(is_active=True).only("id", "email").iterator(chunk_size=500):
        notify(user=user, kind="privacy.policy_changed", text=text, link=link)
    return document


@transaction.atomic
def cookie_consent_record(
    *, user: User | None, analytics: bool, ip: str | None, user_agent: str = ""
) -> Consent | None:
    """The banner's choice. Anonymous visitors only get the cookie; signed-in users also get a
    Consent row with the cookie policy version shown."""
    if user is None or not user.is_authenticated:
        return None
    return consent_set(
        user=user,
        purpose=Consent.Purpose.ANALYTICS_COOKIES,
        granted=analytics,
        ip=ip,
        user_agent=user_agent,
        source="cookie_banner",
    )


def marketing_unsubscribe_url(*, user: User) -> str:
    """The link every non-transactional e-mail carries (no sign-in needed: the signed token
    is the credential, and it only ever withdraws consent)."""
    token = signing.dumps({"u": str(user.public_id)}, salt=UNSUBSCRIBE_SALT)
    return absolute_url(reverse("privacy:unsubscribe", args=[token]))


def marketing_unsubscribe_headers(*, user: User) -> dict[str, str]:
    """`List-Unsubscribe` and RFC 8058 one-click headers for a marketing e-mail."""
    return {
        "List-Unsubscribe": f"<{marketing_unsubscribe_url(user=user)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def marketing_unsubscribe(*, token: str, ip: str | None) -> User:
    """Withdraw marketing consent from an e-mailed link, as easily as it was given."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature as exc:
        raise ValidationError(_("This link is not valid.")) from exc
    user = User.objects.filter(public_id=data.get("u")).first()
    if user is None:
        raise ValidationError(_("This link is not valid."))
    consent_set(
        user=user,
        purpose=Consent.Purpose.MARKETING_EMAIL,
        granted=False,
        ip=ip,
        source="unsubscribe_link",
    )
    return user


def _policy_title(body: str) -> str:
    return body.lstrip().splitlines()[0].lstrip("# ").strip()[:200] if body.strip() else ""


@transaction.atomic
def policy_translations_publish_from_files(
    *, directory: Path = POLICY_DIR
) -> list[PolicyTranslation]:
    """Publish the language versions written beside each policy file: ``terms.az.md`` and
    ``terms.ru.md`` are the Azerbaijani and Russian versions of the document version whose
    English text is ``terms.md`` (the version that file published). A language version, once
    published, is never rewritten (users may have accepted it); a fix is a new policy version.
    Files whose English original matches no version are skipped. Returns what was created."""
    created: list[PolicyTranslation] = []
    for kind, stem in POLICY_FILES.items():
        original = directory / f"{stem}.md"
        if not original.exists():
            continue
        document = (
            PolicyDocument.objects.filter(kind=kind, body=original.read_text(encoding="utf-8"))
            .order_by("-effective_at", "-id")
            .first()
        )
        if document is None:
            continue
        for code, _name in settings.LANGUAGES:
            path = directory / f"{stem}.{code}.md"
            if code == settings.LANGUAGE_CODE or not path.exists():
                continue
            body = path.read_text(encoding="utf-8")
            translation_row, was_created = PolicyTranslation.objects.get_or_create(
                document=document,
                language=code,
                defaults={"title": _policy_title(body), "body": body},
            )
            if was_created:
                created.append(translation_row)
                audit_record(
                    workspace=None,
                    action="privacy.policy_translation_published",
                    target=document,
                    details={"kind": kind, "version": document.version, "language": code},
                )
    return created
