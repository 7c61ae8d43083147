"""The reference pipeline's DVC stages; each is `python -m lockship.stages.<name>`."""
