"""The web pages' French message catalogue (fr/LC_MESSAGES/messages.po), and its refresh.

`python -m tracker.web.i18n` extracts the message ids of the templates (written in
English) and merges them into the `.po` file, keeping every translation already there;
a test fails while an id has no French text (tests/web/test_messages.py).
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

HERE = Path(__file__).parent
TEMPLATES = HERE.parent / "templates"
CATALOGUE = HERE / "fr" / "LC_MESSAGES" / "messages.po"
METHODS = [("**.html", "jinja2")]
OPTIONS = {"**.html": {"extensions": "jinja2.ext.i18n"}}


def template_messages() -> list[str]:
    """Every message id the templates use, in order of first use."""
    found: dict[str, None] = {}
    for _, _, message, _, _ in extract_from_dir(TEMPLATES, METHODS, OPTIONS):
        if isinstance(message, str):
            found.setdefault(message, None)
    return list(found)


def refresh() -> Catalog:
    """Merge the templates' ids into the catalogue (new ids untranslated) and write it."""
    with CATALOGUE.open("rb") as source:
        old = read_po(source, locale="fr_FR")
    catalogue = Catalog(locale="fr_FR", project="tracker", domain="messages", fuzzy=False)
    for message in template_messages():
        existing = old.get(message)
        catalogue.add(message, existing.string if existing is not None else "")
    with CATALOGUE.open("wb") as out:
        write_po(out, catalogue, omit_header=False, width=100, no_location=True)
    return catalogue
