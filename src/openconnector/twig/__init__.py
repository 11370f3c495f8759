"""A Twig 3 compatible template engine for mapping values (``{{ category.name }}``).

Mappings written for the PHP OpenConnector evaluate Twig expressions against
each external record; this package renders them the same way in Python,
compiling each template to a Python function once and sandboxing access to
the record's data only.

>>> from openconnector.twig import Environment
>>> Environment().from_string("{{ name|upper }}").render({"name": "ada"})
'ADA'
"""

from .environment import Environment, Template, render
from .errors import Error, LoaderError, RuntimeError, SyntaxError
from .runtime import Markup

__all__ = [
    "Environment",
    "Error",
    "LoaderError",
    "Markup",
    "RuntimeError",
    "SyntaxError",
    "Template",
    "render",
]
