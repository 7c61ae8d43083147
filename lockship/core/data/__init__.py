"""Tables and their schemas: reading CSV/Parquet, schema files and validation."""
