"""Issuing: choosing contracts (plan), building and stamping self-assessment workbooks (generate, stamp,
spec) and the email hand-off (mail).

Nothing here reads a return.
"""
