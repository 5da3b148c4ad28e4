"""Memories the user marked private (``fields["private"] == "true"``, set through
``Service.set_private``): retrieval uses one only when the question asks for it by name.

"By name" means the question holds the memory's subject: the specific words of its
``subject`` / ``title`` / ``label`` field (at least half of them, stop words aside), or, for
a memory without such a field (an episode), at least two of the specific words of its
text, the speaker's name aside (all of them when it has fewer). A question about something else, however close in
meaning, does not bring a private memory into the prompt.
"""

from __future__ import annotations

import re

from core.records import Memory
from core.store.fts import STOPWORDS

_WORD = re.compile(r"[^\W_]+")
_SUBJECT_FIELDS = ("subject", "title", "label")
_TEXT_WORDS_NEEDED = 2


def is_private(memory: Memory) -> bool:
    return memory.fields.get("private") == "true"


def _words(text: str) -> set[str]:
    return {
        w
        for w in _WORD.findall(text.lower().replace("'s", ""))
        if w not in STOPWORDS and len(w) > 2
    }


def question_names_memory(question: str, memory: Memory) -> bool:
    """Whether ``question`` names this memory's subject (see the module's rule)."""
    asked = _words(question)
    for name in _SUBJECT_FIELDS:
        subject = _words(memory.fields.get(name, ""))
        if subject:
            return 2 * len(subject & asked) >= len(subject)
    specific = _words(memory.text) - _words(memory.fields.get("actor", ""))  # not the speaker
    if not specific:
        return False
    return len(specific & asked) >= min(_TEXT_WORDS_NEEDED, len(specific))
