"""Helpers for the file tests: a register with one schema, an object, small real files."""

from __future__ import annotations

from openconnector.register.objects import ObjectService
from openconnector.register.registers import RegisterService

#: The first bytes of a real (tiny) PDF and PNG: what sniffing looks at.
PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
)


def make_object(context, title: str = "Besluit 1") -> dict:
    registers = RegisterService(context)
    try:
        registers.get_register("woo")
    except Exception:
        registers.create_register({"title": "Woo", "slug": "woo"})
        registers.create_schema(
            {"title": "Besluit", "slug": "besluit", "properties": {"title": {"type": "string"}}},
            register="woo",
        )
    return ObjectService(context).save_object({"title": title}, "woo", "besluit")
