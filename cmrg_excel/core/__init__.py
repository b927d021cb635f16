"""Foundations: the framework as data, the contract list, the workspace and its settings, plain value and text helpers.

Nothing here knows about the register or builds a workbook.
"""
