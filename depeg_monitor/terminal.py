"""Text from outside (a venue, a channel, the database) made safe to print on a terminal.

An exchange's error message is printed by `quotes` and, via the database, by `status`. Left
as is, an ESC sequence in it could clear the screen or move the cursor, a CR or newline could
forge a line of the table, and a bidi override could make text read backwards. Each such
character is shown as a visible escape instead (`\\x1b`, `\\r`, `\\n`, `\\u202e`), so what was
sent stays readable and stays on its own line.
"""

from __future__ import annotations

_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
_CONTROLS = [
    *range(0x00, 0x20),  # C0: ESC, CR, LF, BEL, backspace, …
    0x7F,  # DEL
    *range(0x80, 0xA0),  # C1: CSI (0x9b) and OSC (0x9d) start sequences on their own
    *range(0x202A, 0x202F),  # bidi embeddings and overrides LRE RLE PDF LRO RLO
    *range(0x2066, 0x206A),  # bidi isolates LRI RLI FSI PDI
    0x2028,  # line separator: a new line to some terminals and viewers
    0x2029,  # paragraph separator
]
_TABLE = {
    cp: _NAMED.get(chr(cp), f"\\x{cp:02x}" if cp <= 0xFF else f"\\u{cp:04x}") for cp in _CONTROLS
}


def printable(text: str) -> str:
    """text with every control, bidi-override and line-separator character escaped."""
    return text.translate(_TABLE)
