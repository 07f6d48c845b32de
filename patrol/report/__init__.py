"""Reports for reviewers (HTML) and exports for other systems (GeoJSON, KML, CSV, Open311).

Entry points for the pipeline: ``write_flight_report(store, flight_id, out_dir, settings, zones=None,
summary=None)`` and ``write_case_board(store, out_dir, settings)``; both return the written paths.
``export_text(store, fmt, settings, flight_id=None)`` backs ``patrol export``. Renderers are pure
functions of the view models in ``patrol.report.model``.
"""

from patrol.report.from_store import EXPORT_FORMATS, export_text, write_case_board, write_flight_report

__all__ = ["EXPORT_FORMATS", "export_text", "write_case_board", "write_flight_report"]
