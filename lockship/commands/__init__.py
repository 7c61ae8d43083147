"""`lockship` subcommands that are neither hooks nor stages."""
