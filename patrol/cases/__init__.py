"""Cases: one problem at one place across flights (lifecycle state machine and matching)."""
