"""Git hook checks, one module per hook; `.pre-commit-hooks.yaml` exposes them to other repositories.

Hooks import only `lockship.core` and what the check itself needs: never the training or serving
stack, so `git commit` stays fast and the hook environment small.
"""
