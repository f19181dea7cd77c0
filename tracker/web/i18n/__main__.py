"""`python -m tracker.web.i18n`: merge the templates' message ids into the catalogue."""

from tracker.web.i18n import refresh

refresh()
