"""The reference pipeline's DVC stages; each is `python -m lockship.stages.<name>`."""

from lockship.core.numerics import pin_from_params

# Here, before any stage module imports numpy: its libraries read the pins once, when they load.
# DVC runs every stage from the directory of its dvc.yaml, where params.yaml is.
pin_from_params("params.yaml")
