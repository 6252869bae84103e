"""F8 (issue 17): failed sign-ins slow down the (account, IP) pair that failed, with an
increasing "try again in N seconds", instead of locking the account for everyone (its owner
included) or every sign-in from an IP: a lock an attacker could switch on at will."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts import login_throttle
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def _sign_in(client: Client, email: str, password: str) -> str:
    response = client.post(reverse("account_login"), {"login": email, "password": password})
    return response.content.decode() if response.status_code != 302 else "signed in"


def test_an_attackers_failures_do_not_lock_the_owner_out() -> None:
    owner = UserFactory(email="owner@example.com")
    attacker = Client(REMOTE_ADDR="203.0.113.66")
    for _ in range(8):
        _sign_in(attacker, owner.email, "wrong")

    # the owner, from their own address, signs in at once
    owner_client = Client(REMOTE_ADDR="198.51.100.10")
    assert _sign_in(owner_client, owner.email, PASSWORD) == "signed in"
    assert owner_client.session.get("_auth_user_id") == str(owner.pk)


def test_many_failures_from_one_address_do_not_block_other_accounts_there() -> None:
    # an office behind one address: someone mistypes many accounts' passwords
    office = "192.0.2.80"
    for n in range(12):
        _sign_in(Client(REMOTE_ADDR=office), f"nobody{n}@example.com", "wrong")

    colleague = UserFactory(email="colleague@example.com")
    client = Client(REMOTE_ADDR=office)
    assert _sign_in(client, colleague.email, PASSWORD) == "signed in"


def test_the_failing_pair_waits_longer_after_each_failure(monkeypatch) -> None:
    clock = [1_000_000.0]
    monkeypatch.setattr(login_throttle, "_now", lambda: clock[0])
    user = UserFactory(email="target@example.com")
    client = Client(REMOTE_ADDR="203.0.113.7")

    for _ in range(login_throttle.free_attempts()):
        assert "Try again in" not in _sign_in(client, user.email, "wrong")
    waits = []
    for _ in range(3):
        _sign_in(client, user.email, "wrong")  # counted, then the pair must wait
        waits.append(login_throttle.wait_seconds(email=user.email, ip="203.0.113.7"))
        # while waiting even the right password is refused, and the page says how long
        refused = _sign_in(client, user.email, PASSWORD)
        assert f"Try again in {waits[-1]} seconds" in refused
        assert "Too many failed login attempts" in refused
        clock[0] += waits[-1]
    assert waits[0] > 0
    assert waits[0] < waits[1] < waits[2]

    # after the wait the owner's right password works, and the slate is clean
    assert _sign_in(client, user.email, PASSWORD) == "signed in"
    assert login_throttle.wait_seconds(email=user.email, ip="203.0.113.7") == 0
