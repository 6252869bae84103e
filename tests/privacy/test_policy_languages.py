"""Policies per language (issue 19): the Azerbaijani and Russian files beside the English
ones are published as language versions of the same policy version; a visitor reads their
language's version, or the English one with a note; consent records which one was accepted."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone, translation

from accounts.models import AuditEvent, User
from privacy import services
from privacy.models import Consent, PolicyDocument, PolicyTranslation
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

AZ_TERMS = (
    "# İstifadə şərtləri\n\nBu şərtlər Azərbaycan Respublikasının qanunları ilə tənzimlənir.\n"
)


@pytest.fixture
def policy_files(tmp_path: Path) -> Path:
    """A copy of the policy files as the translators will leave them: the English originals of
    the versions in force, and an Azerbaijani version of the terms only (none published yet:
    the migration published the repository's own files)."""
    PolicyTranslation.objects.all().delete()
    for kind in ("terms", "privacy", "cookies"):
        document = PolicyDocument.objects.get(kind=kind, version="1.0")
        (tmp_path / f"{kind}.md").write_text(document.body, encoding="utf-8")
    (tmp_path / "terms.az.md").write_text(AZ_TERMS, encoding="utf-8")
    return tmp_path


def test_the_repository_s_language_versions_are_published_by_the_migration() -> None:
    published = {
        (t.document.kind, t.document.version, t.language)
        for t in PolicyTranslation.objects.select_related("document")
    }

    assert published == {
        (kind, "1.0", language)
        for kind in ("terms", "privacy", "cookies")
        for language in ("az", "ru")
    }


def test_language_files_become_versions_of_the_same_document_once(policy_files: Path) -> None:
    # when the files are published, twice (every deploy runs it)
    first = services.policy_translations_publish_from_files(directory=policy_files)
    second = services.policy_translations_publish_from_files(directory=policy_files)

    # then the terms v1.0 has an Azerbaijani version, titled from its file, written once
    terms = PolicyDocument.objects.get(kind="terms", version="1.0")
    assert [(t.document_id, t.language, t.title) for t in first] == [
        (terms.pk, "az", "İstifadə şərtləri")
    ]
    assert second == []
    assert PolicyTranslation.objects.count() == 1
    assert AuditEvent.objects.filter(action="privacy.policy_translation_published").count() == 1


def test_a_changed_english_file_publishes_nothing_for_an_old_version(policy_files: Path) -> None:
    (policy_files / "terms.md").write_text("# Terms, a draft of v2\n", encoding="utf-8")

    assert services.policy_translations_publish_from_files(directory=policy_files) == []


def test_the_visitor_reads_their_language_version_or_english_with_a_note(
    client: Client, policy_files: Path
) -> None:
    services.policy_translations_publish_from_files(directory=policy_files)
    english = PolicyDocument.objects.get(kind="terms", version="1.0")

    az = client.get("/terms/", HTTP_ACCEPT_LANGUAGE="az").content.decode()
    ru = client.get("/terms/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()

    assert "Azərbaycan Respublikasının qanunları" in az
    assert '<article class="col-lg-8 policy" lang="az"' in az
    assert 'data-testid="policy-fallback"' not in az
    # no Russian version yet: the English text, marked as English, with a note
    assert english.title in ru
    assert '<article class="col-lg-8 policy" lang="en"' in ru
    assert 'data-testid="policy-fallback"' in ru


def test_consent_records_the_language_version_accepted(policy_files: Path) -> None:
    services.policy_translations_publish_from_files(directory=policy_files)
    user = UserFactory()

    with translation.override("az"):
        services.consent_record_signup(user=user, ip="198.51.100.7")

    languages = dict(
        Consent.objects.filter(user=user, document__isnull=False).values_list("purpose", "language")
    )
    # the terms were read in Azerbaijani; the privacy policy has no Azerbaijani version yet
    assert languages == {"terms": "az", "privacy": "en"}


def test_reacceptance_records_the_language_of_the_page(
    owner: User, member_client: Client, policy_files: Path
) -> None:
    User.objects.filter(pk=owner.pk).update(date_joined=timezone.now() - timedelta(days=90))
    services.consent_record_signup(user=owner, ip="198.51.100.8")
    now = timezone.now()
    (policy_files / "terms.md").write_text("# Terms v2\n\nNew terms.\n", encoding="utf-8")
    (policy_files / "terms.az.md").write_text("# Şərtlər v2\n\nYeni şərtlər.\n", encoding="utf-8")
    PolicyDocument.objects.create(
        kind="terms",
        version="2.0",
        title="Terms v2",
        body="# Terms v2\n\nNew terms.\n",
        published_at=now - timedelta(days=40),
        effective_at=now - timedelta(seconds=1),
    )
    services.policy_translations_publish_from_files(directory=policy_files)
    User.objects.filter(pk=owner.pk).update(language="az")

    response = member_client.get("/privacy/accept/")
    assert response.status_code == 200, response.get("Location")
    page = response.content.decode()
    member_client.post("/privacy/accept/", {"accept": "1", "next": "/"})

    assert "Şərtlər v2" in page
    accepted = Consent.objects.get(user=owner, document__version="2.0")
    assert accepted.language == "az"
