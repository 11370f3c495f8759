"""EU data themes: codes, labels, aliases, URIs and a catalog's own mapping."""

from __future__ import annotations

import subprocess
import sys

import pytest

from openconnector.catalog.themes import THEMES, lookup_theme, resolve_theme, theme_uri

EU = "http://publications.europa.eu/resource/authority/data-theme/"


def test_the_table_holds_the_thirteen_themes_and_provisional_data() -> None:
    assert sorted(THEMES) == sorted(
        [
            "AGRI",
            "ECON",
            "EDUC",
            "ENER",
            "ENVI",
            "GOVE",
            "HEAL",
            "INTR",
            "JUST",
            "REGI",
            "SOCI",
            "TECH",
            "TRAN",
            "OP_DATPRO",
        ]
    )
    for code, theme in THEMES.items():
        assert theme.uri == theme_uri(code) == EU + code
        assert lookup_theme(theme.label_nl) == lookup_theme(theme.label_en) == code


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("AGRI", "AGRI"),
        ("agri", "AGRI"),
        (" Tran ", "TRAN"),
        ("op_datpro", "OP_DATPRO"),
        ("Economie en financien", "ECON"),  # accents and case do not matter
        ("ECONOMIE EN FINANCIËN", "ECON"),
        ("Regio's en steden", "REGI"),
        ("Verkeer", "TRAN"),
        ("health", "HEAL"),
        ("Milieu", "ENVI"),
        (EU + "JUST", "JUST"),
        ("https://publications.europa.eu/resource/authority/data-theme/ENER/", "ENER"),
        (EU + "NOPE", None),
        ("Dogs", None),
        ("", None),
        (None, None),
        (42, None),
    ],
)
def test_lookup_theme_reads_codes_labels_aliases_and_uris(value: object, expected: str | None) -> None:
    assert lookup_theme(value) == expected


@pytest.mark.parametrize(
    ("value", "mapping", "default", "expected"),
    [
        ("Dogs", {"Dogs": "AGRI"}, "GOVE", "AGRI"),
        ("dogs", {"DOGS": "AGRI"}, "GOVE", "AGRI"),
        ("Honden", {"honden": "Landbouw, visserij, bosbouw en voeding"}, "GOVE", "AGRI"),
        ("Dogs", {"Dogs": EU + "HEAL"}, "GOVE", "HEAL"),
        ("Verkeer", {"Verkeer": "ENVI"}, "GOVE", "ENVI"),  # the catalog's mapping beats the built-in alias
        ("Dogs", {"Dogs": "not a theme"}, "GOVE", "GOVE"),  # a broken mapping entry falls through
        ("TRAN", None, "GOVE", "TRAN"),
        ("Dogs", None, "GOVE", "GOVE"),
        ("Dogs", None, "educ", "EDUC"),
        (None, {"Dogs": "AGRI"}, "SOCI", "SOCI"),
    ],
)
def test_resolve_theme_prefers_mapping_then_value_then_default(
    value: object, mapping: dict[str, str] | None, default: str, expected: str
) -> None:
    assert resolve_theme(value, mapping, default) == EU + expected


def test_resolve_theme_refuses_a_default_that_is_no_theme() -> None:
    with pytest.raises(ValueError, match="unknown default theme 'XYZ'; expected one of AGRI"):
        resolve_theme("Dogs", default="XYZ")


def test_importing_themes_does_not_load_rdflib() -> None:
    code = "import sys, openconnector.catalog.themes, openconnector.catalog; print('rdflib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
