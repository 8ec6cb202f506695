"""The influence pipeline library: settings, dbt runner, data quality, publish and the CLI."""
