"""The hub: REST API over the services. Build it with :func:`shipyard.api.app.create_app`."""
