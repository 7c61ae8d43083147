"""The small core every other part uses: errors, YAML and params, tables, schemas, atomic files.

Modules here import nothing of the training or serving stack, so hooks stay fast.
"""
