"""Intake: a returned workbook from inbox/ to the register: byte preflight, reading in capped workers,
pure checks, framework upgrades, filing (ingest) and corrections workbooks.
"""
