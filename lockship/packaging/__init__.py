"""Packaging: the serving image, built reproducibly from the locked pipeline and tagged by its lock hash."""
