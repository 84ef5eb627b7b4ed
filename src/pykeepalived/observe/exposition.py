"""The Prometheus text format (0.0.4) of ``prometheus_client`` metric families, byte for byte
what ``prometheus_client.generate_latest`` writes for them (a test compares the two), at a
fraction of its cost.

Why: ``generate_latest`` validates and escapes every label name of every sample again; at 250
VRRP instances (about 7 000 samples) that is the bulk of a scrape's CPU. The families here only
use valid classic metric and label names (``observe.metrics`` builds them), so names need no
escaping, and each label set is rendered once per scrape however many families repeat it (an
instance's ``iname``/``intf``/``vrid`` appear in ~30 of them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client.core import Metric
from prometheus_client.utils import floatToGoString

_OPENMETRICS_ONLY = ("_created", "_gsum", "_gcount")
#: prometheus_client's Go-style float formatting (``+Inf``, ``1e+06``), typed.
_go_float: Callable[[float], str] = floatToGoString


def _escape(v: str) -> str:
    return v.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def render(metrics: Iterable[Metric]) -> bytes:
    """``metrics`` as the text format; raises ``ValueError`` for what ``generate_latest``
    would write differently (OpenMetrics-only types and samples), which these families never
    have."""
    metrics = list(metrics)  # every labels dict alive until the end: their ids stay theirs
    out: list[str] = []
    labelsets: dict[int, str] = {}  # by the labels dict's id (a dict shared by many samples)
    values: dict[float, str] = {}  # counters at 0, states, priorities: few distinct values
    for m in metrics:
        name, mtype = m.name, m.type
        if mtype == "counter":
            name += "_total"
        elif mtype == "unknown":
            mtype = "untyped"
        elif mtype not in ("gauge", "histogram", "summary"):
            raise ValueError(f"{m.name}: type {mtype} is not rendered here")
        doc = m.documentation.replace("\\", r"\\").replace("\n", r"\n")
        out.append(f"# HELP {name} {doc}\n# TYPE {name} {mtype}\n")
        om = tuple(m.name + s for s in _OPENMETRICS_ONLY)
        for s in m.samples:
            if s.name in om or s.timestamp is not None:
                raise ValueError(f"{s.name}: OpenMetrics sample or timestamp")
            labels = s.labels
            if labels:
                text = labelsets.get(id(labels))
                if text is None:
                    text = labelsets[id(labels)] = "{" + ",".join(
                        f'{k}="{_escape(v)}"' for k, v in sorted(labels.items())) + "}"
            else:
                text = ""
            v = s.value
            vt = values.get(v)
            if vt is None:
                vt = values[v] = _go_float(v)
            out.append(f"{s.name}{text} {vt}\n")
    return "".join(out).encode("utf-8")
