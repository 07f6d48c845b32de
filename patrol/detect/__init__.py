"""Object detection: the Detector protocol, tiling, and backends (ONNX Runtime default)."""
