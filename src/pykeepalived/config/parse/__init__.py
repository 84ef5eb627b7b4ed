"""The block parser, one module per kind of block.

``tree`` nests the lexer's statements by braces; ``context`` is what every handler gets (the
parse state, reporting, value readers); ``table`` declares keywords as data (``Kw`` rows in a
``Section`` per block) and reads a block through its table; ``builders`` are what a block
accumulates. The blocks: ``globaldefs``, ``vrrp`` (instances, sync groups, authentication),
``trackers`` (vrrp_script, track_file, track_process, track_group, bfd_instance), ``static``
(static addresses / routes / rules, garp_group, linkbeat, up/down delays), ``lvs``
(virtual_server_group, virtual_server, real_server), ``checkers`` (the checkers, url, SSL);
``top`` reads the top level; ``finish`` applies the rules that need the whole file;
``reference`` renders the tables as docs/configuration-reference.md.
"""
