"""What the privacy centre's own buttons leave in the data-request queue: "Download my data" is
an access request answered by the archive, "Delete my account" an erasure request that waits
for its 30 days of grace, is completed by the purge, or is cancelled when the owner restores
the account. The owner sees them under "My requests"; support staff see them in the queue."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import User
from privacy import services
from privacy.models import DataExport, DataRequest, PrivacyProfile
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def support_client() -> Client:
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name="Support"))
    client = Client()
    client.force_login(user)
    return client


def _my_requests(client: Client) -> list[str]:
    page = client.get(reverse("privacy:centre")).content.decode()
    items = re.findall(r'<li data-testid="my-request">(.*?)</li>', page, re.S)
    return [" ".join(item.split()) for item in items]


def test_download_my_data_is_an_access_request_completed_when_delivered(
    owner: User,
    member_client: Client,
    support_client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    assert _my_requests(member_client) == []

    with django_capture_on_commit_callbacks(execute=True):
        member_client.post(reverse("privacy:centre_export"))
    # a second click while it is being prepared records nothing more
    member_client.post(reverse("privacy:centre_export"))

    request = DataRequest.objects.get(user=owner)
    assert request.kind == DataRequest.Kind.ACCESS
    assert request.channel == DataRequest.Channel.WEB
    assert request.status == DataRequest.Status.COMPLETED
    export = DataExport.objects.get(user=owner)
    assert export.data_request == request
    assert export.status == DataExport.Status.READY
    assert request.completed_at is not None
    assert request.completed_at >= request.received_at

    [listed] = _my_requests(member_client)
    assert "Access · Completed · received" in listed
    assert "closed" in listed

    queue = support_client.get(reverse("admin:privacy_datarequest_changelist"))
    assert [r.pk for r in queue.context["cl"].result_list] == [request.pk]


def test_double_click_on_download_records_one_request(owner: User, member_client: Client) -> None:
    # the build is slow (queued): both clicks land before it finishes
    member_client.post(reverse("privacy:centre_export"))
    DataExport.objects.filter(user=owner).update(status=DataExport.Status.BUILDING)
    member_client.post(reverse("privacy:centre_export"))

    assert DataRequest.objects.filter(user=owner).count() == 1
    assert DataExport.objects.filter(user=owner).count() == 1


def _delete(client: Client) -> None:
    client.post(reverse("privacy:centre_delete"), {"password": PASSWORD, "confirm": "on"})


def test_delete_my_account_is_an_erasure_request_in_grace_then_completed_by_the_purge(
    owner: User, member_client: Client, support_client: Client
) -> None:
    _delete(member_client)

    request = DataRequest.objects.get(user=owner)
    purge_after = PrivacyProfile.objects.get(user=owner).purge_after
    assert request.kind == DataRequest.Kind.ERASURE
    assert request.channel == DataRequest.Channel.WEB
    assert request.status == DataRequest.Status.IN_PROGRESS
    assert request.confirmed_at is not None
    assert request.due_at == purge_after
    queue = support_client.get(reverse("admin:privacy_datarequest_changelist"))
    assert [r.pk for r in queue.context["cl"].result_list] == [request.pk]

    # staff cannot cut the grace short, even though the owner asked
    with pytest.raises(Exception, match="grace"):
        services.data_request_execute_erasure(request=request, actor=None)

    assert services.accounts_purge_due(now=purge_after - timedelta(minutes=1)) == 0
    assert services.accounts_purge_due(now=purge_after + timedelta(minutes=1)) == 1

    request.refresh_from_db()
    assert request.status == DataRequest.Status.COMPLETED
    assert request.completed_at is not None
    assert request.user is None
    assert not User.objects.filter(pk=owner.pk).exists()


def test_restoring_the_account_cancels_the_erasure_request(
    owner: User, member_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        _delete(member_client)
    link = re.search(r"https?://\S+/reactivate/\S+/", mail.outbox[-1].body).group(0)
    Client().post("/" + link.split("://", 1)[1].split("/", 1)[1])

    request = DataRequest.objects.get(user=owner)
    assert request.status == DataRequest.Status.REJECTED
    assert request.is_withdrawn
    assert request.completed_at is not None

    client = Client()
    client.force_login(User.objects.get(pk=owner.pk))
    [listed] = _my_requests(client)
    assert "Erasure · Cancelled · received" in listed
    assert "closed" in listed
    assert "Rejected" not in listed
