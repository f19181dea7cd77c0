"""Tables leaving tracker: spreadsheets for managers (docs/spreadsheets.md)."""
