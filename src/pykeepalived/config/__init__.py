"""keepalived.conf front end (sans-IO apart from reading the files it is pointed at).

lexer works line by line as keepalived does (include, @conditionals, $parameters, ~SEQ/~LST,
comments, quoting, braces); parser turns lines into the frozen dataclasses of ``model``.
Errors are values (``ConfigMessage`` with file and line), never exceptions escaping to the caller.
``environment`` holds the few questions about the host the config test asks (interfaces, users,
files); tests pass a fake one. May be imported by anything; imports nothing from the shells.

Public API: ``load(path, config_id=..., all_config=False) -> ParseResult``,
``load_text(text, ...)``, ``dump.format_config(cfg)``, ``configtest.run_config_test(opts)``.
"""

from pykeepalived.config.loader import load, load_text
from pykeepalived.config.model import ConfigMessage, KeepalivedConfig, ParseResult, Severity

__all__ = ["ConfigMessage", "KeepalivedConfig", "ParseResult", "Severity", "load", "load_text"]
