"""cmrg-excel: a council's contract-management review programme, run through Excel."""

__version__ = "0.1.0"
