"""The schema as an ordered list of named migrations. Never edit a released migration: add a new one.

Each migration runs in its own transaction and is recorded in the ``migrations`` table, so a database
created by any earlier version is upgraded step by step. DDL uses dialect macros ({pk}, {ts}, ...).
"""

from __future__ import annotations

MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS migrations (
    name TEXT PRIMARY KEY,
    applied_at {ts} NOT NULL
)
"""

MIGRATIONS: list[tuple[str, list[str]]] = [
    (
        "0001_initial",
        [
            """
            CREATE TABLE flights (
                flight_id TEXT PRIMARY KEY,          -- content key of the flight's files
                name TEXT NOT NULL,
                source TEXT NOT NULL,                -- folder or file it came from (last seen)
                n_files {int} NOT NULL,
                started_at {ts},                     -- first frame time, when known
                created_at {ts} NOT NULL,
                finished_at {ts},
                status TEXT NOT NULL CHECK (status IN ('processing', 'done', 'failed')),
                error TEXT,
                summary {json}
            )
            """,
            """
            CREATE TABLE flight_stages (
                flight_id TEXT NOT NULL REFERENCES flights(flight_id) ON DELETE CASCADE,
                stage TEXT NOT NULL,
                done_at {ts} NOT NULL,
                info {json},
                PRIMARY KEY (flight_id, stage)
            )
            """,
            """
            CREATE TABLE frames (
                frame_pk {pk},
                flight_id TEXT NOT NULL REFERENCES flights(flight_id) ON DELETE CASCADE,
                path TEXT NOT NULL,
                taken_at {ts},
                lat_deg {real},
                lon_deg {real},
                gsd_m {real},
                footprint_wkt TEXT,                  -- (lon lat) polygon, WKT
                meta {json},                         -- FrameMeta as JSON; NULL when unreadable
                error TEXT,                          -- why the frame could not be used
                UNIQUE (flight_id, path)
            )
            """,
            """
            CREATE TABLE detections (
                detection_pk {pk},
                flight_id TEXT NOT NULL REFERENCES flights(flight_id) ON DELETE CASCADE,
                frame_path TEXT NOT NULL,
                class_name TEXT NOT NULL,
                score {real} NOT NULL,
                x1_px {real} NOT NULL, y1_px {real} NOT NULL, x2_px {real} NOT NULL, y2_px {real} NOT NULL
            )
            """,
            "CREATE INDEX detections_frame ON detections (flight_id, frame_path)",
            """
            CREATE TABLE cases (
                case_id {pk},
                category TEXT NOT NULL,
                class_name TEXT NOT NULL,
                lat_deg {real} NOT NULL,
                lon_deg {real} NOT NULL,
                status TEXT NOT NULL,
                opened_at {ts} NOT NULL,
                updated_at {ts} NOT NULL,
                first_flight_id TEXT NOT NULL REFERENCES flights(flight_id),
                last_flight_id TEXT NOT NULL REFERENCES flights(flight_id),
                grid_cell TEXT,
                unit TEXT,
                zone_name TEXT,
                evidence_frame TEXT,
                evidence_bbox {json},
                duplicate_of {int} REFERENCES cases(case_id),
                last_seen_at {ts},
                observations {int} NOT NULL DEFAULT 1,
                score {real} NOT NULL DEFAULT 0,
                uncertainty_m {real} NOT NULL DEFAULT 0
            )
            """,
            "CREATE INDEX cases_status ON cases (status, category)",
            "CREATE INDEX cases_lat ON cases (lat_deg, lon_deg)",
            "CREATE INDEX cases_unit ON cases (unit, status)",
            """
            CREATE TABLE findings (
                flight_id TEXT NOT NULL REFERENCES flights(flight_id) ON DELETE CASCADE,
                finding_id TEXT NOT NULL,
                class_name TEXT NOT NULL,
                category TEXT,
                lat_deg {real} NOT NULL,
                lon_deg {real} NOT NULL,
                score {real} NOT NULL,
                grid_cell TEXT,
                unit TEXT,
                case_id {int} REFERENCES cases(case_id),
                data {json} NOT NULL,                -- the whole Finding record
                PRIMARY KEY (flight_id, finding_id)
            )
            """,
            "CREATE INDEX findings_case ON findings (case_id)",
            """
            CREATE TABLE case_events (
                event_id {pk},
                case_id {int} NOT NULL REFERENCES cases(case_id) ON DELETE CASCADE,
                at {ts} NOT NULL,
                from_status TEXT,
                to_status TEXT NOT NULL,
                source TEXT NOT NULL CHECK (source IN ('flight', 'verification', 'reviewer')),
                flight_id TEXT REFERENCES flights(flight_id),
                finding_id TEXT,
                evidence TEXT,
                note TEXT NOT NULL DEFAULT ''
            )
            """,
            "CREATE INDEX case_events_case ON case_events (case_id, event_id)",
            """
            CREATE TABLE verification_queue (
                case_id {int} NOT NULL REFERENCES cases(case_id) ON DELETE CASCADE,
                flight_id TEXT NOT NULL REFERENCES flights(flight_id) ON DELETE CASCADE,
                frame_path TEXT NOT NULL,
                gsd_m {real} NOT NULL,
                queued_at {ts} NOT NULL,
                state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done')),
                PRIMARY KEY (case_id, flight_id)
            )
            """,
            """
            CREATE TABLE verifications (
                verification_id {pk},
                case_id {int} NOT NULL REFERENCES cases(case_id) ON DELETE CASCADE,
                flight_id TEXT NOT NULL REFERENCES flights(flight_id) ON DELETE CASCADE,
                at {ts} NOT NULL,
                verdict TEXT NOT NULL,               -- fixed | still_present | inconclusive
                score {real},
                before_frame TEXT,
                after_frame TEXT,
                evidence_path TEXT,
                details {json},
                UNIQUE (case_id, flight_id)
            )
            """,
        ],
    ),
    (
        # Reviewers' judgements of a case (patrol cases review, patrol serve): what training and the
        # statistics read. Each review also writes a case event (source reviewer) for the history.
        "0002_case_reviews",
        [
            """
            CREATE TABLE case_reviews (
                review_id {pk},
                case_id {int} NOT NULL REFERENCES cases(case_id) ON DELETE CASCADE,
                event_id {int} REFERENCES case_events(event_id),
                at {ts} NOT NULL,
                verdict TEXT NOT NULL CHECK (verdict IN ('confirmed', 'false_positive', 'duplicate', 'category')),
                duplicate_of {int} REFERENCES cases(case_id),
                category TEXT,                       -- the right category (verdict 'category')
                previous_category TEXT NOT NULL,     -- the case's category when it was reviewed
                reviewer TEXT NOT NULL DEFAULT '',
                note TEXT NOT NULL DEFAULT ''
            )
            """,
            "CREATE INDEX case_reviews_case ON case_reviews (case_id, review_id)",
        ],
    ),
    (
        # citizen / hotline reports (a case's source; the phone photo is its first evidence) and the
        # revisit routes planned by `patrol route`, with the flights that flew them
        "0003_reports_and_routes",
        [
            """
            CREATE TABLE reports (
                report_id {pk},
                case_id {int} NOT NULL REFERENCES cases(case_id) ON DELETE CASCADE,
                opened_case {int} NOT NULL,          -- 1: this report opened the case
                source TEXT NOT NULL CHECK (source IN ('citizen', 'hotline')),
                reported_at {ts} NOT NULL,
                category TEXT NOT NULL,
                lat_deg {real} NOT NULL,
                lon_deg {real} NOT NULL,
                photo TEXT,                          -- the phone photo's path; NULL for a point report
                photo_sha256 TEXT,
                note TEXT NOT NULL DEFAULT '',
                flight_id TEXT NOT NULL REFERENCES flights(flight_id)  -- the report's own record
            )
            """,
            "CREATE INDEX reports_case ON reports (case_id)",
            "CREATE INDEX reports_photo ON reports (photo_sha256)",
            """
            CREATE TABLE routes (
                route_id {pk},
                name TEXT NOT NULL,                  -- the KMZ file name without extension
                part {int} NOT NULL,
                created_at {ts} NOT NULL,
                path TEXT,
                drone TEXT NOT NULL,
                height_m {real} NOT NULL,
                length_m {real} NOT NULL,
                naive_length_m {real} NOT NULL,
                waypoints {json} NOT NULL            -- [[index, lat, lon, height_m, pitch_deg, [case ids]], ...]
            )
            """,
            """
            CREATE TABLE route_cases (
                route_id {int} NOT NULL REFERENCES routes(route_id) ON DELETE CASCADE,
                case_id {int} NOT NULL REFERENCES cases(case_id) ON DELETE CASCADE,
                waypoint_index {int} NOT NULL,
                PRIMARY KEY (route_id, case_id)
            )
            """,
            """
            CREATE TABLE flight_routes (
                flight_id TEXT NOT NULL REFERENCES flights(flight_id) ON DELETE CASCADE,
                route_id {int} NOT NULL REFERENCES routes(route_id) ON DELETE CASCADE,
                waypoints_seen {int} NOT NULL,
                PRIMARY KEY (flight_id, route_id)
            )
            """,
        ],
    ),
]
