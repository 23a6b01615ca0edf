"""Connections as JSON, CSV and a plain table, under their WMI property names, streamed.

Facade: one module per format (``json_writer``, ``csv_writer``, ``table_writer``) over the
shared row helpers (``rows``) and the JSON reference documents (``json_docs``). Lazy
(:func:`core.lazy_exports`): the table path imports neither orjson nor the csv module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core import lazy_exports

__all__ = [
    "CSV_EXTRA",
    "EXTRA_KEY",
    "FIRST_CHUNK",
    "connection_doc",
    "write_csv",
    "write_json",
    "write_table",
]

if TYPE_CHECKING:
    from core.connections.report.csv_writer import CSV_EXTRA, write_csv
    from core.connections.report.json_docs import EXTRA_KEY, connection_doc
    from core.connections.report.json_writer import write_json
    from core.connections.report.rows import FIRST_CHUNK
    from core.connections.report.table_writer import write_table
else:
    __getattr__ = lazy_exports(
        __name__,
        {
            "csv_writer": ("CSV_EXTRA", "write_csv"),
            "json_docs": ("EXTRA_KEY", "connection_doc"),
            "json_writer": ("write_json",),
            "rows": ("FIRST_CHUNK",),
            "table_writer": ("write_table",),
        },
    )
