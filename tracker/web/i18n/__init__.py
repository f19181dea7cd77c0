"""The web pages' French message catalogue (fr/LC_MESSAGES/messages.po), and its refresh.

`python -m tracker.web.i18n` extracts the message ids of the templates (written in
English) and merges them into the `.po` file, keeping every translation already there;
a test fails while an id has no French text (tests/web/test_pages.py). A count-bearing
message is a plural one, `ngettext("%(num)s project", "%(num)s projects", n)` in the
templates: its French has the catalogue's three plural forms (`Plural-Forms`; French puts
0 and 1 in the first).
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


Message = str | tuple[str, str]  # an id, or a plural one: (singular, plural)


def template_messages() -> list[Message]:
    """Every message id the templates use, in order of first use."""
    found: dict[Message, None] = {}
    for _, _, message, _, _ in extract_from_dir(TEMPLATES, METHODS, OPTIONS):
        if isinstance(message, str):
            found.setdefault(message, None)
        elif isinstance(message, tuple) and len(message) == 2:  # ngettext's
            found.setdefault((message[0], message[1]), None)
    return list(found)


def translated(catalogue: Catalog, message: Message) -> bool:
    """Whether the catalogue has French for `message`: every plural form of a plural one."""
    entry = catalogue.get(message)
    if entry is None or entry.pluralizable != isinstance(message, tuple):
        return False
    forms = entry.string if isinstance(entry.string, tuple) else (entry.string,)
    return all(forms)


def refresh() -> Catalog:
    """Merge the templates' ids into the catalogue (new ids untranslated) and write it."""
    with CATALOGUE.open("rb") as source:
        old = read_po(source, locale="fr_FR")
    catalogue = Catalog(locale="fr_FR", project="tracker", domain="messages", fuzzy=False)
    for message in template_messages():
        existing = old.get(message)
        if existing is not None and existing.pluralizable == isinstance(message, tuple):
            catalogue.add(message, existing.string)
        else:
            catalogue.add(
                message, ("",) * catalogue.num_plurals if isinstance(message, tuple) else ""
            )
    with CATALOGUE.open("wb") as out:
        write_po(out, catalogue, omit_header=False, width=100, no_location=True)
    return catalogue
