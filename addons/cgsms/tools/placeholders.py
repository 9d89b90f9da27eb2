"""Text of a template for a number typed by hand, which has no contact to fill placeholders.

``{{ object.name }}`` has nothing to show for a typed number: the placeholder's own default
(``{{ object.name ||| Cliente }}``) is used when it has one, otherwise it disappears together
with the space before it, so that "Olá {{ object.name }}, ..." reads "Olá, ..." and not
"Olá , ...".
"""

# A placeholder that vanished leaves no space before these.
_CLOSING = ",.;:!?)]}»"


def render_without_contact(instructions):
    """``instructions``: ``(literal, expression, default)`` triples as given by Odoo's
    ``parse_inline_template``. Returns the text with each placeholder replaced by its
    default, or removed cleanly when it has none."""
    text = ""
    gap = False
    for literal, expression, default in instructions:
        if gap:
            text = _close_gap(text, literal)
            gap = False
        else:
            text += literal
        if expression:
            if default:
                text += default
            else:
                gap = True
    if gap:
        text = text.rstrip(" ")
    return text


def _close_gap(before, after):
    kept = before.rstrip(" ")
    rest = after.lstrip(" ")
    if not kept:
        # the text started with the placeholder: no punctuation left dangling at the start
        return rest.lstrip(" ,;:")
    if not rest or rest[0] in _CLOSING or rest[0] == "\n":
        return kept + rest
    if kept[-1] == "\n":
        return kept + rest
    spaced = len(kept) != len(before) or len(rest) != len(after)
    return kept + (" " if spaced else "") + rest
