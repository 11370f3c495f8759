"""Promise: the OpenAPI document tells the truth, and no request makes the server fail.

schemathesis generates requests from ``/api/openapi.json`` (about 20 per
operation, a fixed seed) and sends them, logged in as admin, to the application
in-process on its own SQLite database. For every operation:

* no answer is a server error (5xx);
* every status answered is one the document declares for that operation;
* a request the document calls valid is not refused with a 400
  (``positive_data_acceptance``), except for the requests whose validity the
  schema language cannot express (``SEMANTIC_BODIES``: Twig syntax, cron syntax,
  a rule's type-specific configuration, whether a synchronisation is configured to
  run). Those still must not fail with a 5xx or answer an undeclared status.

Only the ``/index.php/apps/...`` routes are fuzzed: the ``/apps/...`` routes are
the same functions under a second prefix. A longer or different run::

    OPENCONNECTOR_FUZZ_SEED=7 OPENCONNECTOR_FUZZ_EXAMPLES=100 \\
        python -m pytest tests/security/test_openapi_fuzz.py -m fuzz -p no:cacheprovider

or, against a running server (see docs/security.md)::

    schemathesis run http://127.0.0.1:8080/api/openapi.json -H "Authorization: Basic ..." \\
        --include-path-regex '^/index.php' --max-examples 20 --seed 1 \\
        --checks not_a_server_error,status_code_conformance,positive_data_acceptance
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, seed, settings
from schemathesis.checks import not_a_server_error, positive_data_acceptance, status_code_conformance

from openconnector.api.app import create_app
from openconnector.context import Context

pytestmark = [pytest.mark.fuzz, pytest.mark.timeout(900)]

SEED = int(os.environ.get("OPENCONNECTOR_FUZZ_SEED", "1"))
EXAMPLES = int(os.environ.get("OPENCONNECTOR_FUZZ_EXAMPLES", "20"))
AUTH = {"Authorization": "Basic " + base64.b64encode(b"admin:admin").decode()}
#: Requests whose validity JSON Schema cannot say: checked for 5xx and statuses only.
#: A mapping test (Twig syntax in strings), a schedule (cron syntax), a rule (each type
#: needs its own configuration), an endpoint (its path pattern must be able to match),
#: a source (a location is needed for some types only),
#: a run or test run (the synchronisation must be configured, a state no request can show).
SEMANTIC_BODIES = (
    "/api/mappings/test",
    "/schedule",
    "/api/rules",
    "/api/rules/{ref}",
    "/api/endpoints",
    "/api/endpoints/{ref}",
    "/api/sources",  # whether a location is needed depends on the source's type
    "/api/sources/{ref}",
    "/run",
    "/test",
    "/api/notifications",  # a notification must name a subscribed kanaal and a fetchable resourceUrl
    "/webhook",  # the synchronisation must be configured to map the records
)


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory) -> Iterator[schemathesis.BaseSchema]:
    from openconnector.store.settings import Settings

    settings_ = Settings(
        data_dir=tmp_path_factory.mktemp("fuzz"),
        admin_password="admin",
        secret_key="fuzz-secret",
        scheduler=False,
        mapping_seconds=2.0,
    )
    context = Context(settings_)
    app = create_app(context, make_default=False)
    yield schemathesis.openapi.from_asgi("/api/openapi.json", app).include(path_regex=r"^/index\.php/")
    context.close()


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@seed(SEED)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_no_server_error_and_no_valid_request_rejected(case):
    checks = [not_a_server_error, status_code_conformance]
    if not case.operation.path.endswith(SEMANTIC_BODIES):
        checks.append(positive_data_acceptance)
    case.call_and_validate(headers=AUTH, checks=checks)
