"""Statistics for monitoring: drift tests and data quality over reference sketches and streamed current data."""
