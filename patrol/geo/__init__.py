"""Geometry: WGS84 <-> local metric frames, the camera model, frame footprints."""
