"""Before/after verification of cases: registration, comparison, evidence images."""
