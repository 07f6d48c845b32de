"""patrol tests (mirror the package layout)."""
