"""The built-in registers: ``openconnector`` (the connector's configuration) and
``publication`` (the public catalogs).

Configuration objects are ordinary register objects, so
``ObjectService().save_object(object=..., register="openconnector", schema="source")``
and ``POST /api/sources`` create the same thing. The schemas are deliberately
loose (OpenConnector's own tables accept partial rows too: the UI creates a
synchronisation with a name first and fills in the rest later); the connector
services check what they need when they run.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select, update

from ..clock import now_iso
from ..store import tables as t

_S = {"type": "string"}
_B = {"type": "boolean"}
_I = {"type": "integer"}
_O = {"type": "object"}
_DT = {"type": "string", "format": "date-time"}
_ID = {"type": ["string", "integer"]}
_IDS = {"type": "array"}


def _common(**props: Any) -> dict[str, Any]:
    return {
        "name": {"type": "string", "minLength": 1, "maxLength": 255},
        "description": _S,
        "reference": _S,
        "version": _S,
        "slug": _S,
        **props,
    }


#: Where a source keeps secrets: encrypted at rest, masked in every answer
#: (paths as ``store/secrets.py`` reads them). Besides these, a source's
#: ``secretFields`` lists paths its user marked secret, e.g.
#: ``configuration.headers.X-Custom`` or ``configuration.query.access``.
SOURCE_SECRETS = [
    "authenticationConfig.*",
    "configuration.authentication.*",
    "configuration.*",
    "configuration.auth.1",
    "url:location",
    "configuration.headers.*",
    "configuration.query.*",
    "headers.*",
    "query.*",
    "password",
    "secret",
    "apikey",
    "jwt",
    "authorizationHeader",
]

#: An authentication rule's own API keys (a list of strings).
RULE_SECRETS = ["configuration.authentication.keys"]

#: A consumer's API key, basic password or JWT key; ``algorithm`` and ``username`` stay readable.
CONSUMER_SECRETS = ["authorizationConfiguration.*"]

BUILTIN_SCHEMAS: dict[str, dict[str, Any]] = {
    "source": {
        "title": "Source",
        "description": "Where data comes from: a base URL and how to authenticate.",
        "required": ["name"],
        "configuration": {
            "objectNameField": "name",
            "secretProperties": SOURCE_SECRETS,
            "secretPathsProperty": "secretFields",
        },
        "properties": _common(
            type={
                "type": "string",
                "enum": ["api", "json", "xml", "soap", "csv", "jsonl", "xlsx", "dcat", "database", "file"],
            },
            location=_S,
            isEnabled=_B,
            auth=_S,
            secretFields={"type": "array", "items": {"type": "string", "minLength": 1}},
            authenticationConfig=_O,
            configuration=_O,
            headers=_O,
            query=_O,
            logRetention=_I,
            errorRetention=_I,
            rateLimitLimit=_I,
            rateLimitRemaining=_I,
            rateLimitReset=_I,
            rateLimitWindow=_I,
            lastCall=_DT,
            lastSync=_DT,
        ),
    },
    "mapping": {
        "title": "Mapping",
        "description": "How one external record becomes one object.",
        "required": ["name"],
        "configuration": {"objectNameField": "name"},
        "properties": _common(mapping=_O, unset={"type": "array", "items": _S}, cast=_O, passThrough=_B),
    },
    "synchronization": {
        "title": "Synchronization",
        "description": "What runs: source endpoint, mapping, target.",
        "required": ["name"],
        "properties": _common(
            sourceId=_ID,
            sourceType=_S,
            sourceHashMapping=_ID,
            sourceTargetMapping=_ID,
            sourceConfig=_O,
            currentPage=_I,
            targetId=_S,
            targetType=_S,
            targetConfig=_O,
            conditions={},
            followUps=_IDS,
            actions=_IDS,
            status=_S,
            targetLastSynced=_DT,
        ),
    },
    "job": {
        "title": "Job",
        "description": "A background job that runs an action on an interval.",
        "required": ["name"],
        "properties": _common(
            jobClass=_S,
            arguments=_O,
            interval={"type": ["integer", "string"]},
            executionTime=_I,
            timeSensitive=_B,
            allowParallelRuns=_B,
            isEnabled=_B,
            singleRun=_B,
            scheduleAfter=_DT,
            userId=_S,
            logRetention=_I,
            errorRetention=_I,
            lastRun=_DT,
            nextRun=_DT,
            status=_S,
        ),
    },
    "endpoint": {
        "title": "Endpoint",
        "description": "A public route served from a register or a source.",
        "required": ["name"],
        "properties": _common(
            endpoint=_S,
            method=_S,
            targetType=_S,
            targetId=_S,
            conditions={},
            inputMapping=_ID,
            outputMapping=_ID,
            rules=_IDS,
            configurations=_O,
        ),
    },
    "rule": {
        "title": "Rule",
        "description": "A step applied to requests or synchronised objects.",
        "required": ["name"],
        "configuration": {"objectNameField": "name", "secretProperties": RULE_SECRETS},
        "properties": _common(action=_S, timing=_S, conditions={}, type=_S, configuration=_O, order=_I),
    },
    "consumer": {
        "title": "Consumer",
        "description": "Who may call an endpoint: an API key, a basic password or a JWT key.",
        "required": ["name"],
        "configuration": {"objectNameField": "name", "secretProperties": CONSUMER_SECRETS},
        "properties": _common(
            domains={"type": "array", "items": _S},
            ips={"type": "array", "items": _S},
            authorizationType={
                "type": "string",
                "enum": ["none", "basic", "bearer", "apiKey", "oauth2", "jwt"],
            },
            authorizationConfiguration=_O,
            userId=_S,
        ),
    },
}

CATALOG_SCHEMA: dict[str, Any] = {
    "title": "Catalog",
    "description": "A public catalog over registers and schemas.",
    "required": ["title"],
    "properties": {
        "title": {"type": "string", "minLength": 1},
        "summary": _S,
        "description": _S,
        "slug": _S,
        "registers": _IDS,
        "schemas": _IDS,
        "listed": _B,
        "status": _S,
        "published": _DT,
        "homepage": _S,
        "publisher": _S,
        "publisherUri": _S,
        "contactPoint": _O,
        "license": _S,
        "defaultTheme": _S,
        "themeMapping": _O,
        "hasDcat": _B,
        "language": _S,
    },
}

BUILTIN_REGISTERS: dict[str, dict[str, Any]] = {
    "openconnector": {
        "title": "OpenConnector",
        "description": "Sources, mappings, synchronisations, jobs, endpoints, rules and consumers.",
        "schemas": BUILTIN_SCHEMAS,
    },
    "publication": {
        "title": "Publication",
        "description": "Public catalogs.",
        "schemas": {"catalog": CATALOG_SCHEMA},
    },
}


def install(conn: Connection) -> None:
    """Create the built-in registers and any of their schemas that are missing (idempotent)."""
    import uuid

    now = now_iso()
    for reg_slug, reg in BUILTIN_REGISTERS.items():
        row = conn.execute(select(t.registers).where(t.registers.c.slug == reg_slug)).first()
        schema_ids: list[int] = list((row.data or {}).get("schemas", [])) if row else []
        for schema_slug, schema in reg["schemas"].items():
            existing = conn.execute(
                select(t.schemas.c.id).where(
                    t.schemas.c.slug == schema_slug, t.schemas.c.id.in_(schema_ids or [-1])
                )
            ).first()
            if existing:
                continue
            new_id = conn.execute(
                insert(t.schemas).values(
                    uuid=str(uuid.uuid4()),
                    slug=schema_slug,
                    data={**schema, "version": "0.0.1"},
                    created=now,
                    updated=now,
                )
            ).inserted_primary_key[0]
            schema_ids.append(new_id)
        data = {
            "title": reg["title"],
            "description": reg["description"],
            "version": "0.0.1",
            "schemas": schema_ids,
        }
        if row is None:
            conn.execute(
                insert(t.registers).values(
                    uuid=str(uuid.uuid4()), slug=reg_slug, data=data, created=now, updated=now
                )
            )
        else:
            conn.execute(
                update(t.registers)
                .where(t.registers.c.id == row.id)
                .values(data={**row.data, "schemas": schema_ids})
            )
