"""Replies arriving at once never lose an unread count nor make a second conversation: the
upsert on the (number, phone) unique constraint decides, in parallel transactions."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from messaging.engine.conversations import Touch, conversations_touch
from messaging.inbox.models import Conversation
from messaging.numbers.models import Sender

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = "+994501112233"


def test_parallel_replies_fold_into_one_conversation_with_every_unread_counted(workspace) -> None:
    # given: a number and no conversation yet
    sender = Sender.objects.create(
        workspace=workspace,
        provider=Sender.Provider.SANDBOX,
        phone_number="+994550000001",
        phone_number_id="9000001",
        status=Sender.Status.ACTIVE,
    )
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def replies(worker: int) -> None:
        try:
            start.wait()
            for i in range(25):
                with transaction.atomic():
                    conversations_touch(
                        [
                            Touch(
                                workspace.pk,
                                sender.pk,
                                PHONE,
                                None,
                                timezone.now(),
                                "in",
                                f"reply {worker}-{i}",
                            )  # fmt: skip
                        ]
                    )
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    # when: four workers store 25 replies each at the same moment
    threads = [threading.Thread(target=replies, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then: one conversation, 100 unread, nothing failed
    assert errors == []
    rows = Conversation.objects.filter(workspace=workspace)
    assert rows.count() == 1
    assert rows.get().unread_count == 100
