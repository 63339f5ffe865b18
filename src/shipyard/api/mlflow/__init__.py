"""MLflow's REST API on the hub: a translation layer over the same services (see app.py)."""
