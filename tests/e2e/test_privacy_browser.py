"""In a real browser: a user chooses cookies, downloads their data, and deletes the account."""

from __future__ import annotations

import importlib
import re
import zipfile

import pytest
from django.apps import apps

from accounts import services as account_services
from accounts.models import User
from privacy.services import consent_record_signup
from tests.factories import PASSWORD, UserFactory

# serialized_rollback: the policy versions published by a data migration must survive the
# transactional test's flush.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_download_my_data_then_delete_my_account(page, live_server, tmp_path, settings) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    # A second serialized-rollback browser test in one session can start without the data
    # migrations' rows (see the report); publishing v1.0 again is idempotent.
    importlib.import_module("privacy.migrations.0002_initial_policies").publish(apps, None)
    user = UserFactory(email="nargiz@example.az")
    consent_record_signup(user=user, ip="127.0.0.1")
    account_services.workspace_create(name="Nargiz Sweets", owner=user)
    base = live_server.url

    # sign in
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_login", "nargiz@example.az")
    page.fill("#id_password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r"/w/[\w-]+/$"))

    # the cookie banner works without JavaScript: a plain form
    page.click("[data-testid=cookie-banner] button[value=necessary]")
    assert page.locator("[data-testid=cookie-banner]").count() == 0

    # the privacy centre, from the sidebar
    page.click("nav.app-nav >> text=Privacy")
    page.wait_for_url(re.compile(r"/account/privacy/$"))
    assert "Sign-in records" in page.content()

    # download my data
    page.click("[data-testid=request-export]")
    page.wait_for_url(re.compile(r"/account/privacy/$"))
    with page.expect_download() as download_info:
        page.click("[data-testid=download-export]")
    archive = tmp_path / "export.zip"
    download_info.value.save_as(archive)
    names = zipfile.ZipFile(archive).namelist()
    assert "account.json" in names
    assert "contacts.csv" in names

    # delete my account
    page.fill("#id_password", PASSWORD)
    page.check("#id_confirm")
    page.click("form[action$='/account/privacy/delete/'] button[type=submit]")
    page.wait_for_selector("[data-testid=account-deleted]")

    user.refresh_from_db()
    assert not user.is_active
    assert user.deactivated_at is not None
    # signed out: the centre asks to sign in again
    page.goto(f"{base}/account/privacy/")
    page.wait_for_url(re.compile(r"/accounts/login/"))
    assert User.objects.filter(pk=user.pk, is_active=False).exists()
