"""The workbook kit: where every cell of every workbook lives (layout), the house style, safe file writing,
and the one wall around library internals.

No business rules live here.
"""
