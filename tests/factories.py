"""Factories shared by every app's tests."""

from __future__ import annotations

import factory
from allauth.account.models import EmailAddress

from accounts.models import Membership, User, Workspace
from accounts.permissions import Role
from messaging.campaigns.models import Message
from messaging.gateways.base import DeliveryStatus, StatusEvent

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User{n}")
    company_name = "Example LLC"
    phone = "+994501234567"

    @factory.post_generation
    def password(self, create: bool, extracted: str | None, **kwargs: object) -> None:
        self.set_password(extracted or PASSWORD)
        if create:
            self.save(update_fields=["password"])
            EmailAddress.objects.create(user=self, email=self.email, verified=True, primary=True)


class WorkspaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workspace

    name = factory.Sequence(lambda n: f"Workspace {n}")
    slug = factory.Sequence(lambda n: f"ws-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    workspace = factory.SubFactory(WorkspaceFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.OWNER


def status_event(
    message: Message, status: DeliveryStatus, *, by_public_id: bool = True, **extra: object
) -> StatusEvent:
    """A gateway's status report for `message`, naming it by our id (as the engine's sends ask
    the gateway to echo) and the provider's, or by the provider's id alone."""
    return StatusEvent(
        account_id="x",
        provider_message_id=message.provider_message_id,
        status=status,
        recipient=message.phone.lstrip("+"),
        timestamp=None,
        public_id=str(message.public_id) if by_public_id else None,
        **extra,  # type: ignore[arg-type]
    )
