"""Model directories: what packaging writes and serving reads (no scikit-learn here)."""
