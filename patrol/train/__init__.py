"""Detector training: dataset building, ultralytics training, ONNX export, model card."""
