"""The authentication form of a source: which fields each method has, which are secret.

A field is secret exactly when the storage layer masks it (``is_sensitive``:
``password``, ``token``, ``clientSecret``...), so the UI never shows a value
the API would hide. Secret inputs are write-only: the page says "set" or
"not set"; leaving one empty keeps the stored value (the form sends back
:data:`MASK`, which the store resolves to the old secret), ticking "Remove"
drops it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..store.secrets import MASK, is_sensitive

AUTH_TYPES = ("none", "basic", "bearer", "apikey", "oauth2", "jwt")
AUTH_LABELS = {
    "none": "None",
    "basic": "Basic (username and password)",
    "bearer": "Bearer token",
    "apikey": "API key",
    "oauth2": "OAuth 2 client credentials",
    "jwt": "Signed JWT",
}
JWT_ALGORITHMS = ("HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256")


@dataclass(frozen=True)
class AuthField:
    name: str
    label: str
    kind: str = "text"  # text | select | textarea | json | number
    choices: tuple[str, ...] = ()
    help: str = ""

    @property
    def secret(self) -> bool:
        return is_sensitive(self.name)


AUTH_FIELDS: dict[str, tuple[AuthField, ...]] = {
    "none": (),
    "basic": (AuthField("username", "Username"), AuthField("password", "Password")),
    "bearer": (
        AuthField("token", "Token"),
        AuthField("header", "Header", help="Default: Authorization"),
        AuthField("prefix", "Prefix", help="Default: Bearer"),
    ),
    "apikey": (
        AuthField("key", "API key"),
        AuthField("name", "Header or parameter name", help="Default: X-Api-Key"),
        AuthField("in", "Send it in", "select", ("header", "query")),
    ),
    "oauth2": (
        AuthField("tokenUrl", "Token URL"),
        AuthField("clientId", "Client id"),
        AuthField("clientSecret", "Client secret"),
        AuthField("scope", "Scope"),
        AuthField("authentication", "Send the client as", "select", ("body", "basic")),
    ),
    "jwt": (
        AuthField("algorithm", "Algorithm", "select", JWT_ALGORITHMS),
        AuthField("secret", "Shared secret (HS algorithms)"),
        AuthField("privateKey", "Private key, PEM (RS/PS/ES algorithms)", "textarea"),
        AuthField("payload", "Payload claims (JSON object)", "json"),
        AuthField("expiresIn", "Lifetime in seconds", "number", help="Default: 300"),
    ),
}


def canonical(auth: Any) -> str:
    value = str(auth or "none").strip().lower().replace("-", "").replace("_", "")
    return {"oauth": "oauth2", "": "none"}.get(value, value)


def field_views(auth: str, stored: dict[str, Any] | None) -> list[dict[str, Any]]:
    """What the template needs per field: value (never a secret's), set/not set."""
    stored = stored or {}
    views = []
    for f in AUTH_FIELDS.get(auth, ()):
        value = stored.get(f.name)
        if f.secret:
            views.append({"field": f, "value": "", "is_set": value not in (None, "")})
        else:
            if f.kind == "json" and value is not None and not isinstance(value, str):
                import json

                value = json.dumps(value, indent=2, ensure_ascii=False)
            views.append({"field": f, "value": "" if value is None else value, "is_set": False})
    return views


def read_auth(
    auth: str, form: dict[str, str], stored: dict[str, Any] | None
) -> tuple[dict[str, Any], dict[str, str]]:
    """The ``authenticationConfig`` a submitted form asks for, and errors by input name."""
    from .forms import check_int, parse_json

    stored = stored or {}
    shown = {f.name for f in AUTH_FIELDS.get(auth, ())}
    # settings the form has no input for (set through the API) stay as stored; masked
    # secrets among them are sent back masked, which keeps the stored value
    config: dict[str, Any] = {k: v for k, v in stored.items() if k not in shown}
    errors: dict[str, str] = {}
    for f in AUTH_FIELDS.get(auth, ()):
        key = f"auth.{f.name}"
        raw = form.get(key, "")
        if f.secret:
            if form.get(f"{key}.clear"):
                continue
            if raw:
                config[f.name] = raw
            elif stored.get(f.name) not in (None, ""):
                config[f.name] = MASK  # keep what is stored
            continue
        if not raw:
            continue
        if f.kind == "json":
            parsed, err = parse_json(raw, f.label.lower(), want=dict)
            if err:
                errors[key] = err
            else:
                config[f.name] = parsed
        elif f.kind == "number":
            number, err = check_int(raw, f.label.lower(), minimum=1)
            if err:
                errors[key] = err
            else:
                config[f.name] = number
        elif f.kind == "select" and raw not in f.choices:
            errors[key] = f"Choose one of {', '.join(f.choices)}."
        else:
            config[f.name] = raw
    return config, errors
