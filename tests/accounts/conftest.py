"""The engine's fixtures (sandbox numbers, contacts, credits, a launched campaign) for the
dashboard home tests, which run a real small campaign."""

from ..messaging.conftest import sandbox, sandbox_gateway  # noqa: F401  (fixtures)
from ..messaging.engine.conftest import (  # noqa: F401  (fixtures)
    contacts,
    credits,
    engine_sandbox,
    launch,
    sandbox_number,
    template,
)
