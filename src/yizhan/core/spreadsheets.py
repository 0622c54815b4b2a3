"""Excel workbooks the platform writes: text written is text read.

openpyxl decides a cell's type from its value: a text starting with "="
becomes a formula, and one such as "#N/A" an error value.  A name or a
note typed by a user as ``=HYPERLINK("http://…")`` would then run in the
reader's Excel, and read back as a formula its text would be lost.  Every
workbook row goes through ``append_row``.
"""


def append_row(sheet, values) -> tuple:
    """Append ``values`` to ``sheet`` as a row, every text as text; the row's cells."""
    values = list(values)
    sheet.append(values)
    if not values:
        return ()
    row = sheet.max_row
    cells = next(sheet.iter_rows(min_row=row, max_row=row, max_col=len(values)))
    for cell in cells:
        if cell.data_type == "f":
            # Marked as text in Excel too: the quote prefix Excel gives a text
            # typed with a leading apostrophe, so that editing the cell there
            # does not make it a formula either.
            cell.data_type = "s"
            cell.quotePrefix = True
        elif cell.data_type == "e":
            cell.data_type = "s"
    return cells
