"""Sizes in bytes, as reports write them and as people type them."""

from __future__ import annotations

KIB, MIB = 1024, 1024 * 1024


def size_text(size: int) -> str:
    """1024 → '1 KiB'; 1500 → '1500 B'."""
    for unit, scale in (("MiB", MIB), ("KiB", KIB)):
        if size >= scale and size % scale == 0:
            return f"{size // scale} {unit}"
    return f"{size} B"
