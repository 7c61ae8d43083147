"""DVC files: dvc.yaml, dvc.lock, .dvc files, their hashes, templating, staleness and the lock hash."""
