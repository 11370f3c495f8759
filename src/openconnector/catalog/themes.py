"""The EU data themes that DCAT-AP-NL requires on every dataset.

DCAT-AP-NL 3.0 makes ``dcat:theme`` mandatory and wants at least one value
from the EU Data Theme authority table. Publishers type free text ("Dogs",
"Verkeer"), so this module turns codes, Dutch and English labels, theme URIs
and a per-catalog mapping into one of the fourteen theme URIs::

    >>> resolve_theme("Verkeer")
    'http://publications.europa.eu/resource/authority/data-theme/TRAN'
    >>> resolve_theme("Dogs", {"dogs": "AGRI"})
    'http://publications.europa.eu/resource/authority/data-theme/AGRI'
    >>> resolve_theme("Katten")  # unknown: the default
    'http://publications.europa.eu/resource/authority/data-theme/GOVE'

It imports nothing heavy, so the API can validate a catalog's
``themeMapping`` without loading rdflib.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "EU_THEME_SCHEME",
    "THEMES",
    "Theme",
    "lookup_theme",
    "resolve_theme",
    "theme_uri",
]

EU_THEME_SCHEME = "http://publications.europa.eu/resource/authority/data-theme"
_PREFIX = EU_THEME_SCHEME + "/"


@dataclass(frozen=True)
class Theme:
    """One EU data theme: its code, its official labels and the words people use for it."""

    code: str
    label_nl: str
    label_en: str
    aliases: tuple[str, ...] = ()

    @property
    def uri(self) -> str:
        return _PREFIX + self.code


# Labels are the EU authority table's own (Dutch and English); aliases are
# the short words Dutch municipalities use as categories.
THEMES: dict[str, Theme] = {
    t.code: t
    for t in (
        Theme(
            "AGRI",
            "Landbouw, visserij, bosbouw en voeding",
            "Agriculture, fisheries, forestry and food",
            ("landbouw", "visserij", "bosbouw", "voeding", "agriculture", "fisheries", "forestry", "food"),
        ),
        Theme(
            "ECON",
            "Economie en financiën",
            "Economy and finance",
            ("economie", "financien", "financiën", "economy", "finance", "werk en inkomen"),
        ),
        Theme(
            "EDUC",
            "Onderwijs, cultuur en sport",
            "Education, culture and sport",
            ("onderwijs", "cultuur", "sport", "education", "culture"),
        ),
        Theme("ENER", "Energie", "Energy", ("energie", "energy", "energietransitie")),
        Theme(
            "ENVI",
            "Milieu",
            "Environment",
            ("milieu", "environment", "natuur", "natuur en milieu", "klimaat"),
        ),
        Theme(
            "GOVE",
            "Overheid en publieke sector",
            "Government and public sector",
            ("overheid", "bestuur", "publieke sector", "government", "public sector"),
        ),
        Theme("HEAL", "Gezondheid", "Health", ("gezondheid", "zorg", "gezondheidszorg", "health")),
        Theme(
            "INTR",
            "Internationale vraagstukken",
            "International issues",
            ("internationaal", "internationale zaken", "international"),
        ),
        Theme(
            "JUST",
            "Justitie, rechtsstelsel en openbare veiligheid",
            "Justice, legal system and public safety",
            ("justitie", "recht", "veiligheid", "openbare orde en veiligheid", "justice", "public safety"),
        ),
        Theme(
            "REGI",
            "Regio's en steden",
            "Regions and cities",
            ("regio", "regio's", "steden", "ruimtelijke ordening", "wonen", "regions", "cities"),
        ),
        Theme(
            "SOCI",
            "Bevolking en samenleving",
            "Population and society",
            ("bevolking", "samenleving", "sociaal domein", "population", "society"),
        ),
        Theme(
            "TECH",
            "Wetenschap en technologie",
            "Science and technology",
            ("wetenschap", "technologie", "science", "technology"),
        ),
        Theme(
            "TRAN",
            "Vervoer",
            "Transport",
            ("vervoer", "verkeer", "mobiliteit", "verkeer en vervoer", "transport", "mobility", "traffic"),
        ),
        Theme("OP_DATPRO", "Voorlopige gegevens", "Provisional data", ("provisional data", "voorlopig")),
    )
}


def _norm(text: str) -> str:
    """Fold case, accents and spacing so "Economie en Financiën " matches "economie en financien"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.split())


_ALIASES: dict[str, str] = {}
for _theme in THEMES.values():
    for _word in (_theme.code, _theme.label_nl, _theme.label_en, *_theme.aliases):
        _ALIASES.setdefault(_norm(_word), _theme.code)


def theme_uri(code: str) -> str:
    """The theme's URI; raises ``KeyError`` for a code outside the EU table."""
    return THEMES[code].uri


def lookup_theme(value: object) -> str | None:
    """The theme code for a code, label, alias or theme URI; ``None`` when nothing matches.

    URIs are accepted with ``http`` or ``https`` and with or without a
    trailing slash, since harvested records spell them every way.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    lowered = text.lower()
    for scheme in ("http://", "https://"):
        prefix = scheme + _PREFIX.removeprefix("http://").lower()
        if lowered.startswith(prefix):
            code = text[len(prefix) :].strip("/").upper()
            return code if code in THEMES else None
    return _ALIASES.get(_norm(text))


def resolve_theme(value: object, mapping: Mapping[str, str] | None = None, default: str = "GOVE") -> str:
    """The EU theme URI for free text, never failing for user data.

    Order: the catalog's ``mapping`` (keys compared case- and accent-insensitively,
    values may be codes, labels or URIs), then ``value`` itself as code, label
    or URI, then ``default``. Only a bad ``default`` raises (``ValueError``),
    because that is configuration, not data.
    """
    if mapping and isinstance(value, str):
        wanted = _norm(value)
        for key, target in mapping.items():
            if isinstance(key, str) and _norm(key) == wanted:
                code = lookup_theme(target)
                if code:
                    return THEMES[code].uri
    code = lookup_theme(value)
    if code:
        return THEMES[code].uri
    fallback = lookup_theme(default)
    if fallback is None:
        raise ValueError(f"unknown default theme {default!r}; expected one of {', '.join(THEMES)}")
    return THEMES[fallback].uri
