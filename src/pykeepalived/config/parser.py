"""Statements -> block tree -> typed model, with keepalived's defaults, ranges, synonyms and
cross-field rules. The work is done by the ``parse`` package, one module per kind of block,
each with its keyword table (``parse.table``); this module is its entry point.

Every problem becomes a ``ConfigMessage``; handlers never raise on bad input (``parse_tree``
wraps each top-level block so that a bug in one handler is reported, not propagated).
"""

from __future__ import annotations

from pykeepalived.config.parse.context import Parser, ParseState
from pykeepalived.config.parse.finish import finish
from pykeepalived.config.parse.top import TopParser, parse_tree
from pykeepalived.config.parse.tree import Node, TreeBuilder, build_tree

__all__ = ["Node", "ParseState", "Parser", "TopParser", "TreeBuilder", "build_tree", "finish",
           "parse_tree"]
