"""Cases: one problem at one place across flights (lifecycle state machine and matching).

Public API:
- ``Case``, ``CaseEvent``, ``CaseStatus``, ``EventSource`` (model): frozen records.
- ``lifecycle``: ``open_case``, ``observe``, ``transition``, ``allowed_targets``, ``overdue`` (pure).
- ``matching``: ``match_findings(findings, cases, radius_m=, coverage=, max_verify_gsd_m=)``,
  ``Coverage(frame, polygon_wgs84, gsd_m)`` (pure).
- ``service``: ``update_cases(store, flight_id, findings, ...)`` (the cases stage, one transaction),
  ``set_status(store, case_id, status, ...)`` (reviewers), ``apply_verdict(store, VerificationRecord)``.
"""

from patrol.cases.model import ACTIVE_STATUSES, MATCHABLE_STATUSES, Case, CaseEvent, CaseStatus, EventSource

__all__ = ["ACTIVE_STATUSES", "MATCHABLE_STATUSES", "Case", "CaseEvent", "CaseStatus", "EventSource"]
