"""Sessions and devices under concurrency: two sign-ins from the same new browser at once send
one new-device e-mail (the device row is unique per user), and "This wasn't me" clicked twice
at once opens one report (the user's row lock serialises it)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.core import mail
from django.db import connection
from django.http import HttpResponse
from django.test import RequestFactory

from accounts import services
from accounts.models import KnownDevice, LoginEvent, SecurityReport, User, UserSession
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)


def _race(work: Callable[[], Any], threads: int = 4) -> list[BaseException]:
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            work()
        except BaseException as exc:  # noqa: BLE001 (collected and asserted below)
            errors.append(exc)
        finally:
            connection.close()

    pool = [threading.Thread(target=run) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return errors


def _device_cookie(device_id: str) -> str:
    response = HttpResponse()
    response.set_signed_cookie(services.DEVICE_COOKIE, device_id, salt=services.DEVICE_COOKIE_SALT)
    return response.cookies[services.DEVICE_COOKIE].value


def test_concurrent_sign_ins_from_one_new_browser_send_one_email() -> None:
    # given a user who signed in before, and a browser holding a device id never seen
    user: User = UserFactory()
    LoginEvent.objects.create(user=user, success=True, email_attempted=user.email)
    cookie = _device_cookie("a-brand-new-browser")
    mail.outbox.clear()

    def sign_in() -> None:
        request = RequestFactory().post("/accounts/login/", HTTP_USER_AGENT=IPHONE)
        request.COOKIES[services.DEVICE_COOKIE] = cookie
        request.session = SessionStore()
        event = LoginEvent.objects.create(user=user, success=True, email_attempted=user.email)
        services.user_session_start(request=request, user=user, login_event=event)

    # when four sign-ins from it land at once
    errors = _race(sign_in)

    # then there is one device, four sessions, and one e-mail
    assert errors == []
    assert KnownDevice.objects.filter(user=user).count() == 1
    assert UserSession.objects.filter(user=user).count() == 4
    sent = [m for m in mail.outbox if m.to == [user.email] and "New sign-in" in m.subject]
    assert len(sent) == 1


def test_this_wasnt_me_clicked_twice_at_once_opens_one_report() -> None:
    user: User = UserFactory()
    event = LoginEvent.objects.create(user=user, success=True, email_attempted=user.email)

    def report() -> None:
        services.security_report_open(
            user=user, login_event=event, source=SecurityReport.Source.EMAIL
        )

    errors = _race(report)

    assert errors == []
    assert SecurityReport.objects.filter(user=user).count() == 1
    user.refresh_from_db()
    assert not user.has_usable_password()
