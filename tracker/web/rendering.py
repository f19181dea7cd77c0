"""Jinja2 templates, French from the message catalogue, and the pages' security headers.

Templates only present: the pages' code (tracker/web/pages.py) reads, decides and hands
them plain values. Their text is written in English as message ids and translated through
`tracker/web/i18n/fr/LC_MESSAGES/messages.po`, read at start (no compiled `.mo` file in the
repository): `make web-messages` refreshes the catalogue's entries from the templates
(docs/web.md).
"""

from __future__ import annotations

import io
from datetime import date, datetime
from importlib import resources
from typing import Any

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal
from babel.support import Translations
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse

from tracker.web.charts import chart_label
from tracker.web.dates import field_date, field_instant

LOCALE = "fr_FR"
DOMAIN = "messages"
# No script at all, no inline style, nothing from another origin; forms post here only.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def catalogue_path() -> Any:
    return resources.files("tracker.web") / "i18n" / "fr" / "LC_MESSAGES" / f"{DOMAIN}.po"


def load_translations() -> Translations:
    """The French catalogue, compiled in memory from its `.po` file."""
    with catalogue_path().open("rb") as source:
        catalogue = read_po(source, locale=LOCALE, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalogue)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def number(value: int | float | None) -> str:
    return "—" if value is None else format_decimal(value, locale=LOCALE)


def euros(cents: int | None) -> str:
    if cents is None:
        return "—"
    # A no-break space before the sign: an amount never wraps away from its « € ».
    return format_currency(cents / 100, "EUR", locale=LOCALE, format="#,##0\u00a0¤")


def long_date(value: date | str | None) -> str:
    if value is None or value == "":
        return "—"
    moment = date.fromisoformat(value) if isinstance(value, str) else value
    return format_date(moment, format="long", locale=LOCALE)


def short_date(value: date | str | None) -> str:
    if value is None or value == "":
        return "—"
    moment = date.fromisoformat(value) if isinstance(value, str) else value
    return format_date(moment, format="short", locale=LOCALE)


def instant(value: datetime | str | None) -> str:
    if value is None or value == "":
        return "—"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return format_datetime(moment, format="medium", locale=LOCALE)


def month(value: str) -> str:
    """`2024-03` as `mars 2024`."""
    return format_date(date.fromisoformat(f"{value}-01"), format="MMMM y", locale=LOCALE)


def build_environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("tracker.web", "templates"),
        autoescape=select_autoescape(["html", "svg"], default=True),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.install_gettext_translations(load_translations(), newstyle=True)  # type: ignore[attr-defined]
    environment.filters.update(
        number=number,
        euros=euros,
        long_date=long_date,
        short_date=short_date,
        instant=instant,
        month=month,
        chart_label=chart_label,
        field_date=field_date,
        field_instant=field_instant,
    )
    return environment


class Renderer:
    """Renders one template per page into a response with the security headers."""

    def __init__(self) -> None:
        self.environment = build_environment()

    def page(self, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
        html = self.environment.get_template(template).render(**values)
        return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
