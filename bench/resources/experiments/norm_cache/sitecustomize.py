"""Experiment, not project code: memoize ``vrrp.router._norm`` to measure suggestion 1 of
docs/performance-resources.md. ``PYTHONPATH=<this dir> .venv/bin/python bench/resources/run.py
--impl py --instances 200 --version 3 --advert 0.1 --no-doc`` (the daemons inherit PYTHONPATH).
"""

import functools

import pykeepalived.vrrp.router as _router

_router._norm = functools.lru_cache(maxsize=4096)(_router._norm)
