"""The office side of the loop: reviews that teach the model, dispatch sheets, statistics.

- ``review``: ``Review`` records, ``parse_review("duplicate:5")``, ``review_case(store, ...)``.
- ``dispatch``: per-unit dispatch sheets (HTML + CSV), cases marked ``dispatched`` once.
- ``stats``: the city's numbers over time (pure) and ``stats_page`` (matplotlib SVG charts).
- ``training``: ``patrol train --from-reviews``: reviewed findings as labels and hard negatives.
"""
