"""The master register: one SQLite file per workspace, and pandas views over it.

It holds the issue ledger (every workbook we sent), the contracts as issued, every
submission (accepted or rejected, never deleted) and the answers of accepted returns with
their provenance, and the audit trail: every ingest run and every decision the secretariat
made (:mod:`.audit`). Each returned file is registered all or nothing (its own savepoint
inside a transaction that ingest commits in small groups), so a killed run leaves the
register as it was before the file it was filing.

Commands that only read (status, summary, the export) open it read-only
(``open_register(ws, readonly=True)``): they never wait for another program writing to it.
A register held by another program for longer than :data:`BUSY_SECONDS` is
:class:`RegisterBusy` (exit code 3, "run again"), never "not a usable register".

All of the package's SQL lives in this folder; the rest of the code calls the plain-data
functions and frames named here, by these names (``cmrg_excel.register.answers(...)``):

* :mod:`.db`: schema and upgrades, connections, transactions and savepoints, busy handling;
* :mod:`.ledger`: frameworks, contracts, the issue ledger and which round is current;
* :mod:`.submissions`: files received, their answers and actions, inbox copies to remove;
* :mod:`.views`: pandas frames over all of it, and the export;
* :mod:`.audit` and :mod:`.benefits`: the audit trail, and benefits (imported by name).
"""

from __future__ import annotations

from .db import (BUSY, BUSY_SECONDS, MIGRATIONS, RECHECK_CODES, SCHEMA, SCHEMA_VERSION, RegisterBusy, RegisterError,
                 begin, commit, connect, is_busy, now, open_register, rollback, savepoint, transaction)
from .ledger import (Issue, RoundError, check_round, choose_round, contract_details, get_issue, list_issues,
                     load_framework, record_issue, rounds, store_framework, upsert_contract)
from .submissions import (Known, add_submission, clear_pending, current_submissions, known_files, pending_removals,
                          stored_paths)
from .views import (ANSWER_COLUMNS, _frame, answers, answers_frame, area_scores_frame, contracts_frame,  # noqa: F401
                    export_answers, issues_frame, returns_frame, submissions_frame)

__all__ = [
    "ANSWER_COLUMNS", "BUSY", "BUSY_SECONDS", "Issue", "Known", "MIGRATIONS", "RECHECK_CODES", "RegisterBusy",
    "RegisterError", "RoundError", "SCHEMA", "SCHEMA_VERSION", "add_submission", "answers", "answers_frame",
    "area_scores_frame", "begin", "check_round", "choose_round", "clear_pending", "commit", "connect",
    "contract_details", "contracts_frame", "current_submissions", "export_answers", "get_issue", "is_busy",
    "issues_frame", "known_files", "list_issues", "load_framework", "now", "open_register", "pending_removals",
    "record_issue", "returns_frame", "rollback", "rounds", "savepoint", "store_framework", "stored_paths",
    "submissions_frame", "transaction", "upsert_contract",
]
