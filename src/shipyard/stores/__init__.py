"""Adapters: the metadata database, object stores for artifacts."""
