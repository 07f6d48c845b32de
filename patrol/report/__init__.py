"""Reports for reviewers (HTML) and exports for other systems (GeoJSON, KML, CSV, Open311)."""
