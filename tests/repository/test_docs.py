"""docs/ stays small enough to read: at most 12 documents, each saying first whom it is for."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"
MOST = 12
# The opening a reader needs before anything else: `*For ...*` right under the title.
OPENING = re.compile(r"^# .+\n\n\*For [^*]+\*\n")


def test_docs_has_at_most_twelve_documents():
    documents = sorted(path.name for path in DOCS.glob("*.md"))
    assert len(documents) <= MOST, documents


def test_every_document_opens_with_whom_it_is_for():
    missing = [path.name for path in sorted(DOCS.glob("*.md")) if not OPENING.match(path.read_text())]
    assert missing == []
