"""The master register: one SQLite file per workspace, and pandas views over it.

It holds the issue ledger (every workbook we sent), the contracts as issued, every
submission (accepted or rejected, never deleted) and the answers of accepted returns with
their provenance. Each returned file is registered all or nothing (its own savepoint inside
a transaction that ingest commits in small groups), so a killed run leaves the register as
it was before the file it was filing.

All of the package's SQL lives in this folder; the rest of the code calls the plain-data
functions and frames named here, by these names (``cmrg_excel.register.answers(...)``):

* :mod:`.db`: schema and upgrades, :func:`connect`, :func:`open_register`, :func:`transaction`;
* :mod:`.ledger`: frameworks, contracts, the issue ledger and which round is current;
* :mod:`.submissions`: files received, their answers and actions, inbox copies to remove;
* :mod:`.views`: pandas frames over all of it, and the export.
"""

from __future__ import annotations

from .db import MIGRATIONS, SCHEMA, SCHEMA_VERSION, RegisterError, connect, now, open_register, transaction
from .ledger import (Issue, RoundError, check_round, choose_round, contract_details, get_issue, list_issues,
                     load_framework, record_issue, rounds, store_framework, upsert_contract)
from .submissions import (Known, add_submission, clear_pending, current_submissions, known_files, pending_removals,
                          stored_paths)
from .views import (ANSWER_COLUMNS, answers, answers_frame, contracts_frame, export_answers, issues_frame,
                    submissions_frame)

__all__ = [
    "ANSWER_COLUMNS", "Issue", "Known", "MIGRATIONS", "RegisterError", "RoundError", "SCHEMA", "SCHEMA_VERSION",
    "add_submission", "answers", "answers_frame", "check_round", "choose_round", "clear_pending", "connect",
    "contract_details", "contracts_frame", "current_submissions", "export_answers", "get_issue", "issues_frame",
    "known_files", "list_issues", "load_framework", "now", "open_register", "pending_removals", "record_issue",
    "rounds", "store_framework", "stored_paths", "submissions_frame", "transaction", "upsert_contract",
]
