"""Monitoring: compare live inputs with the reference profile `evaluate` writes (see docs/monitoring.md).

`reference` reads the profile; `sources` streams current rows from input logs, CSV and Parquet
files; `binned` counts them on the profile's bins (`lookup` finds each value's bin) and scores each
feature; `thresholds` reads the `lockship.drift` params; `compare` ties these together; `reports` and
`charts` write what a person reads; `export` turns input logs into Parquet or CSV. Nothing here
imports the serving stack beyond the input log's format and reader.
"""
