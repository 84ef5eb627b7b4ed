"""Entry points: read a file (includes resolved), parse it, return a ParseResult."""

from __future__ import annotations

from pykeepalived.config.model import KeepalivedConfig, ParseResult


def load(path: str, *, config_id: str, all_config: bool = False) -> ParseResult:
    """Parse ``path`` as keepalived would with ``-i config_id`` (and ``-e`` if all_config)."""
    del path, config_id, all_config
    return ParseResult(config=KeepalivedConfig())


def load_text(text: str, *, config_id: str = "", filename: str = "keepalived.conf") -> ParseResult:
    """Parse config text held in memory (tests, reload from an expanded copy)."""
    del text, config_id, filename
    return ParseResult(config=KeepalivedConfig())
