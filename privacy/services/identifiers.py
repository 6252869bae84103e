"""What stands in for a person once their data is gone: a salted hash, and a pseudonym made
from it (the same for the same person, so kept records can still be grouped)."""

from __future__ import annotations

from accounts.hashing import subject_hash

__all__ = ["pseudonym_for", "subject_hash"]


def pseudonym_for(value: str) -> str:
    """The text that replaces an identifier in records kept after an erasure."""
    return f"erased-{subject_hash(value)[:12]}"
