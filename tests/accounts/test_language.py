"""Language choice (issue 19): the browser's language on a first visit, the switcher (a cookie
for visitors, the profile for signed-in users, whose choice then wins everywhere), and e-mails
written in each recipient's language, whoever or whatever sent them."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts import services
from accounts.models import Membership, User, Workspace
from accounts.permissions import Role

pytestmark = pytest.mark.django_db

SIGNUP = {
    "first_name": "Leyla",
    "last_name": "Məmmədova",
    "company_name": "Xəzər Çay MMC",
    "phone": "050 123 45 67",
    "email": "leyla@xezercay.az",
    "password1": "a-long-and-unusual-pass-42",
    "password2": "a-long-and-unusual-pass-42",
    "is_adult": "on",
    "accept_terms": "on",
}


def _lang(html: str) -> str:
    found = re.search(r'<html lang="([^"]+)">', html)
    assert found
    return found.group(1)


def test_a_first_visit_follows_the_browser_and_the_switcher_sets_a_cookie(client: Client) -> None:
    # a first visit: the browser's language
    landing = client.get("/", HTTP_ACCEPT_LANGUAGE="ru-RU,ru;q=0.9,en;q=0.5").content.decode()
    assert _lang(landing) == "ru"
    # the header offers the three languages, each as a button of one form
    assert 'data-testid="header-language"' in landing
    for code in ("az", "ru", "en"):
        assert f'data-testid="language-{code}"' in landing

    # the visitor picks Azerbaijani in the header
    response = client.post(reverse("set_language"), {"language": "az", "next": "/accounts/login/"})

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert response.cookies["django_language"].value == "az"
    # the same address, now in Azerbaijani, whatever the browser says
    login = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert _lang(login) == "az"


def test_a_signed_in_user_s_choice_is_saved_and_follows_them_to_another_browser(
    owner: User, member_client: Client, workspace: Workspace
) -> None:
    member_client.post(reverse("set_language"), {"language": "ru", "next": f"/w/{workspace.slug}/"})

    owner.refresh_from_db()
    assert owner.language == "ru"
    # another browser, another language, no cookie: the profile wins
    elsewhere = Client()
    elsewhere.force_login(owner)
    page = elsewhere.get(f"/w/{workspace.slug}/contacts/", HTTP_ACCEPT_LANGUAGE="az")
    assert _lang(page.content.decode()) == "ru"
    assert page["Content-Language"] == "ru"


def test_the_profile_page_sets_and_clears_the_language(
    owner: User, member_client: Client, workspace: Workspace
) -> None:
    form = {"first_name": "Aysel", "last_name": "Əliyeva", "company_name": "", "phone": ""}

    member_client.post(reverse("accounts:profile"), {**form, "language": "az"})
    owner.refresh_from_db()
    assert owner.language == "az"
    assert _lang(member_client.get(reverse("accounts:profile")).content.decode()) == "az"

    # "my browser's language" again
    member_client.post(reverse("accounts:profile"), {**form, "language": ""})
    owner.refresh_from_db()
    assert owner.language == ""
    page = member_client.get(reverse("accounts:profile"), HTTP_ACCEPT_LANGUAGE="ru")
    assert _lang(page.content.decode()) == "ru"


def test_an_unknown_language_changes_nothing(owner: User, member_client: Client) -> None:
    member_client.post(reverse("set_language"), {"language": "xx", "next": "/"})

    owner.refresh_from_db()
    assert owner.language == ""


def test_sign_up_keeps_the_language_the_page_was_read_in(client: Client) -> None:
    client.post(reverse("set_language"), {"language": "az", "next": "/accounts/signup/"})

    client.post(reverse("account_signup"), SIGNUP)

    user = User.objects.get(email=SIGNUP["email"])
    assert user.language == "az"
    # the address-confirmation e-mail is in Azerbaijani too (allauth's own catalogue)
    [confirmation] = mail.outbox
    assert confirmation.to == [SIGNUP["email"]]
    assert "E-poçt" in confirmation.subject or "e-poçt" in confirmation.subject.lower()


def test_allauth_e_mails_follow_the_account_s_language_not_the_page_s(client: Client) -> None:
    User.objects.create_user(email="rustam@example.az", password="x-long-pass-123", language="ru")

    # requested from an English page
    client.post(
        reverse("account_reset_password"),
        {"email": "rustam@example.az"},
        HTTP_ACCEPT_LANGUAGE="en",
    )

    [email] = mail.outbox
    assert "Письмо для сброса пароля" in email.subject


def test_a_notification_is_e_mailed_to_each_reader_in_their_language(
    workspace: Workspace,
    make_member: Callable[..., Membership],
    django_capture_on_commit_callbacks: Any,
) -> None:
    az_owner = make_member(workspace, Role.OWNER, language="az").user
    ru_admin = make_member(workspace, Role.ADMIN, language="ru").user
    en_admin = make_member(workspace, Role.ADMIN).user

    with django_capture_on_commit_callbacks(execute=True):
        services.notify(workspace=workspace, kind="test", text="Balance is low.")

    by_language = {m.extra_headers["Content-Language"]: m.to for m in mail.outbox}
    assert by_language == {"az": [az_owner.email], "ru": [ru_admin.email], "en": [en_admin.email]}


def test_an_invitation_to_a_new_address_is_written_in_the_inviter_s_language(
    workspace: Workspace, owner: User, django_capture_on_commit_callbacks: Any
) -> None:
    membership = Membership.objects.get(user=owner, workspace=workspace)

    with translation.override("ru"), django_capture_on_commit_callbacks(execute=True):
        services.invitation_create(
            workspace=workspace, actor_membership=membership, email="new@example.az", role="member"
        )

    [email] = mail.outbox
    assert email.to == ["new@example.az"]
    assert email.extra_headers["Content-Language"] == "ru"


def test_the_workspace_settings_choose_the_contacts_language_and_opt_out_confirmations(
    workspace: Workspace, member_client: Client
) -> None:
    url = reverse("accounts:settings", args=[workspace.slug])
    page = member_client.get(url).content.decode()
    assert 'name="contact_language"' in page
    assert 'type="checkbox" name="opt_out_confirmation"' in page
    form = {
        "name": workspace.name,
        "slug": workspace.slug,
        "time_zone": "Asia/Baku",
        "default_country": "AZ",
        "contact_language": "ru",
        "opt_out_confirmation": "on",
    }

    response = member_client.post(url, form)

    assert response.status_code == 302
    workspace.refresh_from_db()
    assert (workspace.contact_language, workspace.opt_out_confirmation) == ("ru", True)
    # and off again: an unchecked box is not sent at all
    member_client.post(url, {k: v for k, v in form.items() if k != "opt_out_confirmation"})
    workspace.refresh_from_db()
    assert workspace.opt_out_confirmation is False


def test_a_notice_is_read_in_each_reader_s_language_on_the_page_and_by_e_mail(
    workspace: Workspace,
    make_member: Callable[..., Membership],
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given readers of three languages (Django's own catalogues translate this sentence, so
    # the test sees real translations while ours are being written)
    az_owner = make_member(workspace, Role.OWNER, language="az").user
    ru_admin = make_member(workspace, Role.ADMIN, language="ru").user
    en_admin = make_member(workspace, Role.ADMIN).user

    # when a notice is written by a process speaking English
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        notice = services.notify(
            workspace=workspace, kind="test", text="Enter a valid URL.", params={}
        )

    # then it is stored in English, and each reader reads it in their language
    assert notice.text == "Enter a valid URL."
    pages = {}
    for reader in (az_owner, ru_admin, en_admin):
        client = Client()
        client.force_login(reader)
        pages[reader.language or "en"] = client.get(
            reverse("accounts:notifications", args=[workspace.slug])
        ).content.decode()
    assert "Keçərli URL daxil edin." in pages["az"]
    assert "Введите правильный URL." in pages["ru"]
    assert "Enter a valid URL." in pages["en"]
    bodies = {m.extra_headers["Content-Language"]: (m.to, m.body) for m in mail.outbox}
    assert bodies["az"][0] == [az_owner.email]
    assert "Keçərli URL daxil edin." in bodies["az"][1]
    assert "Введите правильный URL." in bodies["ru"][1]
    assert "Enter a valid URL." in bodies["en"][1]
