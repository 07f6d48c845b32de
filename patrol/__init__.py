"""patrol: drone aerial-patrol imagery pipeline for a city-management command centre."""

__version__ = "0.1.0"
