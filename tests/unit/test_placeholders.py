"""Templates sent to typed numbers (addons/cgsms/tools/placeholders.py)."""

import pytest

# conftest.py puts addons/cgsms on sys.path: ``tools`` imports without Odoo.
from tools.placeholders import render_without_contact


def parts(*items):
    """("Olá ", "object.name", ""), (", até já", "", "") ..."""
    return list(items)


@pytest.mark.parametrize(
    ("instructions", "expected"),
    [
        (
            parts(("Olá ", "object.name", ""), (", lembramos a sua marcação.", "", "")),
            "Olá, lembramos a sua marcação.",
        ),
        (
            parts(("Olá ", "object.name", "Cliente"), (", até já.", "", "")),
            "Olá Cliente, até já.",
        ),
        (parts(("Caro ", "object.name", ""), (" obrigado.", "", "")), "Caro obrigado."),
        (
            parts(("", "object.name", ""), (", a sua reparação está pronta.", "", "")),
            "a sua reparação está pronta.",
        ),
        (parts(("Até amanhã ", "object.name", ""), ("", "", "")), "Até amanhã"),
        (parts(("Olá ", "object.name", ""), ("!\nObrigado", "", "")), "Olá!\nObrigado"),
        (parts(("Sem marcadores.", "", "")), "Sem marcadores."),
        (
            parts(("Olá ", "object.name", ""), (" ", "object.ref", ""), (", ok", "", "")),
            "Olá, ok",
        ),
    ],
)
def test_placeholder_without_contact_leaves_no_stray_space(instructions, expected):
    assert render_without_contact(instructions) == expected
