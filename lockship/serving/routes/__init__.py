"""One router per resource: predictions, the Open Inference Protocol v2, metadata, health and metrics."""
