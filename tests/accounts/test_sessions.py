"""Sessions and devices (issue 17, item 3): the user's sessions listed, one signed out from
another browser (that browser is anonymous afterwards), "everywhere else", the new-device
e-mail (once per device, never for a known one), and "This wasn't me" (every session ends,
the old password stops working, a reset e-mail goes out, staff get a report)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.core import mail, signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import AuditEvent, KnownDevice, LoginEvent, SecurityReport, User, UserSession
from tests.factories import PASSWORD, MembershipFactory

pytestmark = pytest.mark.django_db

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)
WINDOWS_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
LINUX_FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


@pytest.fixture
def user() -> User:
    return MembershipFactory().user


@pytest.fixture
def sign_in(
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> Callable[..., Client]:
    """Sign in through the real sign-in page from a browser (a Client with its own cookies);
    e-mails queued after commit are sent."""

    def go(
        user: User, *, agent: str = WINDOWS_CHROME, ip: str = "198.51.100.7", client: Any = None
    ) -> Client:
        client = client or Client(REMOTE_ADDR=ip, HTTP_USER_AGENT=agent)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                reverse("account_login"), {"login": user.email, "password": PASSWORD}
            )
        assert response.status_code == 302, response.content.decode()[:500]
        return client

    return go


def _signed_in(client: Client) -> bool:
    return client.get(reverse("accounts:sessions")).status_code == 200


def _new_device_mails(user: User) -> list[Any]:
    return [m for m in mail.outbox if m.to == [user.email] and "New sign-in" in m.subject]


def test_the_page_lists_the_users_sessions_with_the_current_one_marked(
    user: User, sign_in: Callable[..., Client]
) -> None:
    # given the user signed in on a computer and on a phone, and someone else elsewhere
    laptop = sign_in(user, agent=WINDOWS_CHROME, ip="198.51.100.7")
    sign_in(user, agent=IPHONE, ip="203.0.113.9")
    sign_in(MembershipFactory().user, agent=LINUX_FIREFOX, ip="192.0.2.1")

    # when the laptop opens Sessions and devices
    response = laptop.get(reverse("accounts:sessions"))

    # then both of the user's sessions are listed (and nobody else's), the laptop marked
    page = response.content.decode()
    assert response.status_code == 200
    assert page.count('data-testid="session-row"') == 2
    assert "Mobile Safari 17.1" in page
    assert "iOS 17.1" in page
    assert "203.0.113.9" in page
    assert "Chrome 126" in page
    assert "198.51.100.7" in page
    assert "Firefox" not in page
    assert "192.0.2.1" not in page
    assert page.count('data-testid="session-current"') == 1
    current_row = re.search(
        r'<tr data-testid="session-row"[^>]*data-current="1">.*?</tr>', page, re.S
    )
    assert current_row is not None
    assert "Chrome 126" in current_row.group(0)
    assert "Sign out everywhere else" in page


def test_signing_out_another_session_ends_it(user: User, sign_in: Callable[..., Client]) -> None:
    # given the user signed in on a laptop and a phone
    laptop = sign_in(user, agent=WINDOWS_CHROME)
    phone = sign_in(user, agent=IPHONE, ip="203.0.113.9")
    phone_session = UserSession.objects.get(user=user, browser__startswith="Mobile Safari")

    # when the laptop signs the phone out
    response = laptop.post(
        reverse("accounts:session_sign_out", args=[phone_session.public_id]), follow=True
    )

    # then the phone's session is gone from the store and its next request is anonymous
    assert "Signed out Mobile Safari 17.1 on iOS 17.1." in response.content.decode()
    assert not Session.objects.filter(session_key=phone_session.session_key).exists()
    assert not _signed_in(phone)
    assert phone.get(reverse("accounts:sessions")).status_code == 302
    assert _signed_in(laptop)
    assert list(UserSession.objects.filter(user=user).values_list("browser", flat=True)) == [
        "Chrome 126.0"
    ]
    event = AuditEvent.objects.get(action="account.session_signed_out")
    assert (event.actor_user, event.details["browser"]) == (user, "Mobile Safari 17.1")


def test_another_users_session_cannot_be_signed_out(
    user: User, sign_in: Callable[..., Client]
) -> None:
    other = MembershipFactory().user
    sign_in(other, agent=IPHONE)
    others_session = UserSession.objects.get(user=other)
    mine = sign_in(user)

    for name in ("accounts:session_sign_out", "accounts:session_not_me"):
        response = mine.post(reverse(name, args=[others_session.public_id]))
        assert response.status_code == 404

    assert Session.objects.filter(session_key=others_session.session_key).exists()
    assert not SecurityReport.objects.exists()
    other.refresh_from_db()
    assert other.check_password(PASSWORD)


def test_sign_out_everywhere_else_keeps_the_current_session(
    user: User, sign_in: Callable[..., Client]
) -> None:
    laptop = sign_in(user, agent=WINDOWS_CHROME)
    phone = sign_in(user, agent=IPHONE)
    tablet = sign_in(
        user,
        agent="Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    )

    response = laptop.post(reverse("accounts:sessions_sign_out_others"), follow=True)

    assert "Signed out 2 other sessions." in response.content.decode()
    assert _signed_in(laptop)
    assert not _signed_in(phone)
    assert not _signed_in(tablet)
    assert UserSession.objects.filter(user=user).count() == 1


def test_signing_out_removes_the_session_from_the_list(
    user: User, sign_in: Callable[..., Client]
) -> None:
    laptop = sign_in(user)
    assert UserSession.objects.filter(user=user).count() == 1

    laptop.post(reverse("account_logout"))

    assert not UserSession.objects.filter(user=user).exists()


def test_last_seen_is_written_at_most_once_a_minute(
    user: User, sign_in: Callable[..., Client]
) -> None:
    laptop = sign_in(user)
    session = UserSession.objects.get(user=user)
    signed_in_at = session.last_seen_at

    laptop.get(reverse("accounts:sessions"))
    session.refresh_from_db()
    assert session.last_seen_at == signed_in_at  # within the minute: no write

    # a minute later (the time of the last write is kept in the session)
    store = laptop.session
    store[services.SESSION_SEEN_KEY] = (timezone.now() - timedelta(seconds=61)).timestamp()
    store.save()
    laptop.get(reverse("accounts:sessions"))
    session.refresh_from_db()
    assert session.last_seen_at > signed_in_at


def test_a_new_device_gets_one_email_and_a_known_device_none(
    user: User, sign_in: Callable[..., Client]
) -> None:
    # given the user's first sign-in ever (right after sign-up): no e-mail for the first device
    laptop = sign_in(user, agent=WINDOWS_CHROME)
    assert _new_device_mails(user) == []
    assert KnownDevice.objects.filter(user=user).count() == 1

    # when the same browser signs in again (it keeps its device cookie): still no e-mail
    laptop.post(reverse("account_logout"))
    sign_in(user, client=laptop)
    assert _new_device_mails(user) == []

    # when a new browser signs in: one e-mail, with what, where and the "not me" link
    phone = sign_in(user, agent=IPHONE, ip="203.0.113.9")
    sent = _new_device_mails(user)
    assert len(sent) == 1
    body = sent[0].body
    assert "Mobile Safari 17.1 on iOS 17.1, IP address 203.0.113.9" in body
    assert "/account/security/not-me/" in body
    assert "/account/sessions/" in body

    # and when that phone signs in again: no second e-mail
    phone.post(reverse("account_logout"))
    sign_in(user, client=phone)
    assert len(_new_device_mails(user)) == 1
    assert KnownDevice.objects.filter(user=user).count() == 2


def test_the_new_device_email_is_in_the_language_of_the_sign_in(
    user: User, sign_in: Callable[..., Client], settings: Any
) -> None:
    from django.utils import translation

    sign_in(user)  # first device
    with translation.override("ru"):
        expected = translation.gettext("New sign-in to your iSend account")
    client = Client(HTTP_USER_AGENT=IPHONE, HTTP_ACCEPT_LANGUAGE="ru")
    sign_in(user, client=client)

    sent = [m for m in mail.outbox if m.to == [user.email]]
    assert sent[-1].subject == settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + expected


def _not_me_link(user: User) -> str:
    body = _new_device_mails(user)[-1].body
    match = re.search(r"https?://[^/\s]+(/account/security/not-me/[^\s]+/)", body)
    assert match is not None
    return match.group(1)


def test_this_wasnt_me_from_the_email_ends_everything_and_opens_a_report(
    user: User, sign_in: Callable[..., Client], django_capture_on_commit_callbacks: Any
) -> None:
    # given the user's laptop and an intruder's phone, announced by e-mail
    laptop = sign_in(user, agent=WINDOWS_CHROME)
    intruder = sign_in(user, agent=IPHONE, ip="203.0.113.66")
    intruder_event = LoginEvent.objects.filter(user=user, success=True).latest("created_at")
    link = _not_me_link(user)
    mail.outbox.clear()

    # when the user opens the link (GET only asks) and confirms
    asked = Client().get(link)
    assert asked.status_code == 200
    assert "203.0.113.66" in asked.content.decode()
    assert _signed_in(intruder)  # a mail scanner opening the link changes nothing
    with django_capture_on_commit_callbacks(execute=True):
        done = Client(REMOTE_ADDR="198.51.100.7").post(link)

    # then every session has ended, the old password no longer works, a reset e-mail went out
    assert done.status_code == 200
    assert "Every session of your account was signed out" in done.content.decode()
    assert not _signed_in(intruder)
    assert not _signed_in(laptop)
    assert not UserSession.objects.filter(user=user).exists()
    user.refresh_from_db()
    assert not user.has_usable_password()
    browser = Client()
    again = browser.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert again.status_code == 200  # the form again, not a redirect into the account
    assert not _signed_in(browser)
    resets = [m for m in mail.outbox if m.to == [user.email] and "/password/reset/key/" in m.body]
    assert len(resets) == 1
    # and staff have a report about that sign-in
    report = SecurityReport.objects.get()
    assert (report.user, report.login_event, report.source, report.status) == (
        user,
        intruder_event,
        SecurityReport.Source.EMAIL,
        SecurityReport.Status.OPEN,
    )
    assert report.sessions_ended == 2
    event = AuditEvent.objects.get(action="account.security_report_opened")
    assert event.actor_user == user
    # and every browser counts as new again: the next sign-in anywhere is announced
    assert not KnownDevice.objects.filter(user=user).exists()


def test_the_link_twice_opens_one_report(user: User, sign_in: Callable[..., Client]) -> None:
    sign_in(user)
    sign_in(user, agent=IPHONE)
    link = _not_me_link(user)

    Client().post(link)
    Client().post(link)

    assert SecurityReport.objects.count() == 1


def test_a_forged_or_expired_link_does_nothing(
    user: User, sign_in: Callable[..., Client], monkeypatch: pytest.MonkeyPatch
) -> None:
    laptop = sign_in(user)
    forged = signing.dumps({"u": str(user.public_id), "e": None}, salt="something-else")
    token = services.not_me_token_make(user=user, login_event=None)

    assert Client().post(f"/account/security/not-me/{forged}/").status_code == 404
    monkeypatch.setattr(services, "NOT_ME_MAX_AGE", -1)  # the week has passed
    expired = Client().post(f"/account/security/not-me/{token}/")
    assert expired.status_code == 404
    assert "not valid or has expired" in expired.content.decode()

    assert _signed_in(laptop)
    assert not SecurityReport.objects.exists()


def test_this_wasnt_me_from_the_page(
    user: User, sign_in: Callable[..., Client], django_capture_on_commit_callbacks: Any
) -> None:
    laptop = sign_in(user)
    intruder = sign_in(user, agent=IPHONE, ip="203.0.113.66")
    session = UserSession.objects.get(user=user, ip="203.0.113.66")

    with django_capture_on_commit_callbacks(execute=True):
        response = laptop.post(reverse("accounts:session_not_me", args=[session.public_id]))

    assert response.status_code == 200
    assert not _signed_in(laptop)
    assert not _signed_in(intruder)
    report = SecurityReport.objects.get()
    assert (report.source, report.login_event) == (SecurityReport.Source.PAGE, session.login_event)
    user.refresh_from_db()
    assert not user.has_usable_password()


def test_staff_see_the_report_in_admin(user: User, sign_in: Callable[..., Client]) -> None:
    sign_in(user)
    sign_in(user, agent=IPHONE, ip="203.0.113.66")
    Client().post(_not_me_link(user))
    report = SecurityReport.objects.get()
    staff = MembershipFactory().user
    staff.is_staff = staff.is_superuser = True
    staff.save()
    admin = Client()
    admin.force_login(staff)

    listing = admin.get("/admin/accounts/securityreport/").content.decode()
    detail = admin.get(f"/admin/accounts/securityreport/{report.pk}/change/").content.decode()

    assert user.email in listing
    assert "203.0.113.66" in listing
    assert "Mobile Safari 17.1" in detail
