"""Issuing: choosing contracts (plan, plan_workbook, planned), building and stamping
self-assessment workbooks (spec, template, stamp, generate) and the email hand-off (mail).

Nothing here reads a return.
"""
