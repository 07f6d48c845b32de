"""Synthetic city and patrol flights with exact ground truth."""
