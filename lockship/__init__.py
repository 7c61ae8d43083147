"""lockship: reproducible ML pipelines, git hooks that guard them, images tagged by the lock hash."""

__version__ = "0.1.0"
