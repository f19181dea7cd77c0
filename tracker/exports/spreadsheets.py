"""XLSX (XlsxWriter) and ODS (odfpy) files of `Table`s: one sheet per table, French
headers, dates as dates, amounts as euros (docs/spreadsheets.md).

Both are written in memory: the exported lists are bounded (a lab's milestones, a
project's history), so a file is a few hundred kilobytes at most.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

import xlsxwriter
from odf.number import (
    CurrencyStyle,
    CurrencySymbol,
    DateStyle,
    Day,
    Month,
    Number,
    Text,
    Year,
)
from odf.opendocument import OpenDocumentSpreadsheet
from odf.style import Style, TableCellProperties, TextProperties
from odf.table import Table as OdsTable
from odf.table import TableCell, TableColumn, TableRow
from odf.text import P

from tracker.exports.sheets import Column, Kind, Table

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ODS = "application/vnd.oasis.opendocument.spreadsheet"


def _euros(cents: Any) -> float | None:
    return None if cents is None else int(cents) / 100


# -- XLSX --------------------------------------------------------------------------------------


def write_xlsx(tables: Sequence[Table]) -> bytes:
    """An XLSX workbook with one sheet per table."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "remove_timezone": True})
    header = workbook.add_format({"bold": True, "bg_color": "#DDE5F0", "text_wrap": True})
    formats = {
        Kind.DATE: workbook.add_format({"num_format": "dd/mm/yyyy"}),
        Kind.DATETIME: workbook.add_format({"num_format": "dd/mm/yyyy hh:mm:ss"}),
        Kind.EUROS: workbook.add_format({"num_format": '#,##0.00 "€"'}),
        Kind.INTEGER: workbook.add_format({"num_format": "0"}),
        Kind.NUMBER: workbook.add_format({"num_format": "General"}),
        Kind.TEXT: workbook.add_format({}),
    }
    for table in tables:
        sheet = workbook.add_worksheet(table.name)
        for c, column in enumerate(table.columns):
            sheet.write_string(0, c, column.title, header)
            sheet.set_column(c, c, column.width, formats[column.kind])
        sheet.freeze_panes(1, 0)
        for r, row in enumerate(table.rows, start=1):
            for c, column in enumerate(table.columns):
                _write_xlsx_cell(sheet, r, c, column, row.get(column.key), formats[column.kind])
        if table.rows:
            sheet.autofilter(0, 0, len(table.rows), len(table.columns) - 1)
    workbook.close()
    return buffer.getvalue()


def _write_xlsx_cell(sheet: Any, r: int, c: int, column: Column, value: Any, fmt: Any) -> None:
    if value is None:
        sheet.write_blank(r, c, None, fmt)
    elif column.kind is Kind.DATE:
        sheet.write_datetime(r, c, datetime(value.year, value.month, value.day), fmt)
    elif column.kind is Kind.DATETIME:
        sheet.write_datetime(r, c, value, fmt)
    elif column.kind is Kind.EUROS:
        sheet.write_number(r, c, _euros(value), fmt)
    elif column.kind in (Kind.INTEGER, Kind.NUMBER):
        sheet.write_number(r, c, value, fmt)
    else:
        sheet.write_string(r, c, str(value), fmt)


# -- ODS ---------------------------------------------------------------------------------------


def write_ods(tables: Sequence[Table]) -> bytes:
    """An OpenDocument spreadsheet with one sheet per table."""
    document = OpenDocumentSpreadsheet()
    styles = _ods_styles(document)
    for table in tables:
        sheet = OdsTable(name=table.name)
        for _ in table.columns:
            sheet.addElement(TableColumn())
        header = TableRow()
        for column in table.columns:
            cell = TableCell(valuetype="string", stylename=styles["header"])
            cell.addElement(P(text=column.title))
            header.addElement(cell)
        sheet.addElement(header)
        for row in table.rows:
            line = TableRow()
            for column in table.columns:
                line.addElement(_ods_cell(column, row.get(column.key), styles))
            sheet.addElement(line)
        document.spreadsheet.addElement(sheet)
    buffer = io.BytesIO()
    document.write(buffer)
    return buffer.getvalue()


def _ods_styles(document: OpenDocumentSpreadsheet) -> dict[str, Style]:
    date_style = DateStyle(name="date-fr")
    for part in (Day(style="long"), Text(text="/"), Month(style="long"), Text(text="/"), Year()):
        date_style.addElement(part)
    document.automaticstyles.addElement(date_style)
    euro_style = CurrencyStyle(name="euros")
    euro_style.addElement(Number(decimalplaces="2", minintegerdigits="1", grouping="true"))
    euro_style.addElement(Text(text=" "))
    euro_style.addElement(CurrencySymbol(language="fr", country="FR", text="€"))
    document.automaticstyles.addElement(euro_style)
    header = Style(name="header", family="table-cell")
    header.addElement(TextProperties(fontweight="bold"))
    header.addElement(TableCellProperties(backgroundcolor="#DDE5F0"))
    date_cell = Style(name="date-cell", family="table-cell", datastylename="date-fr")
    euro_cell = Style(name="euro-cell", family="table-cell", datastylename="euros")
    for style in (header, date_cell, euro_cell):
        document.automaticstyles.addElement(style)
    return {"header": header, "date": date_cell, "euros": euro_cell}


def _ods_cell(column: Column, value: Any, styles: dict[str, Style]) -> TableCell:
    if value is None:
        return TableCell()
    if column.kind is Kind.DATE:
        cell = TableCell(valuetype="date", datevalue=value.isoformat(), stylename=styles["date"])
        text = value.strftime("%d/%m/%Y")
    elif column.kind is Kind.DATETIME:
        naive = value.replace(tzinfo=None)
        cell = TableCell(valuetype="date", datevalue=naive.isoformat(timespec="seconds"))
        text = naive.strftime("%d/%m/%Y %H:%M:%S")
    elif column.kind is Kind.EUROS:
        euros = _euros(value)
        cell = TableCell(
            valuetype="currency", currency="EUR", value=str(euros), stylename=styles["euros"]
        )
        text = f"{euros:,.2f} €".replace(",", " ").replace(".", ",")
    elif column.kind in (Kind.INTEGER, Kind.NUMBER):
        cell = TableCell(valuetype="float", value=str(value))
        text = str(value)
    else:
        cell = TableCell(valuetype="string")
        text = str(value)
    cell.addElement(P(text=text))
    return cell


WRITERS: dict[str, tuple[str, Callable[[Sequence[Table]], bytes]]] = {
    "xlsx": (XLSX, write_xlsx),
    "ods": (ODS, write_ods),
}
"""Every spreadsheet format by its name in `?format=`: its media type and its writer."""


def filename(stem: str, format_name: str, on: date) -> str:
    """A download's file name: `jalons-2026-03-01.xlsx`."""
    return f"{stem}-{on.isoformat()}.{format_name}"
