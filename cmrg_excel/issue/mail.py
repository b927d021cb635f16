"""Email hand-off: mail-merge rows and ready-to-send ``.eml`` drafts (standard library only)."""

from __future__ import annotations

import email.policy
import email.utils
import string
from dataclasses import dataclass
from email.message import EmailMessage
from importlib import resources
from pathlib import Path

from ..core.framework import BUILTIN_PACKAGE
from ..core.errors import CmrgError
from ..core.textsafe import visible

XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
MAILMERGE_COLUMNS = ["owner_name", "owner_email", "contract_id", "title", "attachment_path", "deadline"]


@dataclass(frozen=True)
class Letter:
    subject: str
    body: str


class TemplateError(CmrgError, ValueError):
    """A workspace's own email template cannot be used (the message says which file and why)."""


def load_template(name: str, folder: Path | None = None) -> str:
    """A message template: the workspace's own copy first, else the built-in one. A copy that
    cannot be used is a :class:`TemplateError` naming the file, before any email is written."""
    if folder is not None and (folder / name).exists():
        own = folder / name
        try:
            text = own.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise TemplateError(f"{own}: the email template is not saved as UTF-8 text; save it as UTF-8 "
                                "(in Notepad: File > Save As, Encoding UTF-8), or delete it to use the built-in one"
                                ) from None
        first = text.partition("\n")[0].strip()
        if not first.lower().startswith("subject:"):
            raise TemplateError(f"{own}: an email template must start with a line 'Subject: ...' (its first line is "
                                f"{first[:60]!r}); add one, or delete the file to use the built-in one")
        return text
    return resources.files(BUILTIN_PACKAGE).joinpath(name).read_text(encoding="utf-8")


def render(template: str, values: dict[str, object]) -> Letter:
    """Fill ``$placeholders``; the first line is ``Subject: ...``."""
    text = string.Template(template).safe_substitute({k: str(v) for k, v in values.items()})
    first, _, rest = text.partition("\n")
    if not first.lower().startswith("subject:"):
        raise ValueError("an email template must start with a 'Subject:' line")
    return Letter(first.split(":", 1)[1].strip(), rest.lstrip("\n"))


def make_eml(sender: str, to_name: str, to_addr: str, letter: Letter, attachments: list[Path]) -> bytes:
    """An unsent draft: Outlook and Thunderbird open it ready to send (X-Unsent)."""
    # Long subjects stay on one line (RFC 5322 allows 998 characters); the default
    # folding puts the break straight after "Subject:", which some clients show as a space.
    msg = EmailMessage(policy=email.policy.SMTP.clone(max_line_length=998))
    if sender:
        msg["From"] = sender
    # People's text (names, titles, reasons) with any control character shown as an escape.
    msg["To"] = email.utils.formataddr((visible(to_name), to_addr))
    msg["Subject"] = visible(letter.subject)
    msg["Date"] = email.utils.formatdate(localtime=True)
    msg["X-Unsent"] = "1"
    msg.set_content(visible(letter.body, lines=True))
    for path in attachments:
        maintype, subtype = XLSX_TYPE if path.suffix.lower() == ".xlsx" else ("application", "octet-stream")
        msg.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name)
    return msg.as_bytes()
