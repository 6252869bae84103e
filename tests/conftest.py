from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.utils import translation
from rest_framework.test import APIClient

from accounts import services
from accounts.models import Membership, User, Workspace
from accounts.permissions import API_SCOPES, Role

from .catalogues import compile_stale_catalogues
from .factories import MembershipFactory, UserFactory, WorkspaceFactory


def pytest_sessionstart(session: pytest.Session) -> None:
    # Pages, e-mails and PDFs are tested in az and ru: their catalogues must be compiled.
    compile_stale_catalogues()
    _retry_flush_on_deadlock()


def _retry_flush_on_deadlock() -> None:
    """A transactional test ends with one TRUNCATE of every table. A request the live server is
    still finishing (a late webhook, a browser's poll) can lock two tables in the other order;
    Postgres then aborts the TRUNCATE as a deadlock. It is the harness's race, not the
    product's: retry the flush once the other transaction has gone."""
    import time

    from django.db.backends.postgresql.operations import DatabaseOperations
    from psycopg.errors import DeadlockDetected

    flush = DatabaseOperations.execute_sql_flush

    def execute_sql_flush(self: DatabaseOperations, sql_list: list[str]) -> None:
        for attempt in range(1, 6):
            try:
                flush(self, sql_list)
            except Exception as error:
                if attempt == 5 or not isinstance(error.__cause__, DeadlockDetected):
                    raise
                time.sleep(0.2 * attempt)
            else:
                return

    DatabaseOperations.execute_sql_flush = execute_sql_flush  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _default_language_afterwards() -> Iterator[None]:
    """A request in Russian leaves Russian active in the test's thread: the next test would
    read its English sentences in Russian."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _clean_cache() -> Iterator[None]:
    # Rate limits and throttles live in the (test-only) Redis database.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def workspace(db: None) -> Workspace:
    return WorkspaceFactory(name="Alpha Traders")


@pytest.fixture
def other_workspace(db: None) -> Workspace:
    return WorkspaceFactory(name="Beta Imports")


@pytest.fixture
def make_member(db: None) -> Callable[..., Membership]:
    def make(workspace: Workspace, role: str = Role.OWNER, **user_kwargs: object) -> Membership:
        return MembershipFactory(workspace=workspace, role=role, user=UserFactory(**user_kwargs))

    return make


@pytest.fixture
def owner(workspace: Workspace, make_member: Callable[..., Membership]) -> User:
    return make_member(workspace, Role.OWNER).user


@pytest.fixture
def member_client(owner: User) -> Client:
    client = Client()
    client.force_login(owner)
    return client


@pytest.fixture
def api_client_with_scopes(workspace: Workspace, owner: User) -> Callable[..., APIClient]:
    def make(*scopes: str, target: Workspace | None = None) -> APIClient:
        ws = target or workspace
        actor = owner if target is None else Membership.objects.filter(workspace=ws).first().user
        _key, secret = services.api_key_create(
            workspace=ws, actor=actor, name="test", scopes=list(scopes or API_SCOPES)
        )
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        return client

    return make
