"""Git: the repository, its hook scripts and the pre-commit configuration."""
