"""keepalived.conf front end (sans-IO apart from reading the files it is pointed at).

lexer/preprocess work line by line as keepalived does (include, @conditionals, $parameters,
~SEQ/~LST); parser turns lines into the frozen dataclasses of ``model``. Errors are values
(``ConfigError`` with file and line), never exceptions escaping to the caller.
May be imported by anything; imports nothing from the shells.
"""
