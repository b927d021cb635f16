"""Reporting: the summary workbook for finance staff and the committee.
"""
