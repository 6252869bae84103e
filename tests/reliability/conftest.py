from tests.messaging.conftest import sandbox, sandbox_gateway  # noqa: F401  (fixtures)
from tests.messaging.engine.conftest import (  # noqa: F401  (fixtures)
    contacts,
    credits,
    engine_sandbox,
    launch,
    sandbox_number,
    template,
)
