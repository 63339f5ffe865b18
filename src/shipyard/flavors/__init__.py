"""Flavors: one module per ML framework behind one small interface (:mod:`.base`), and bundles
(:mod:`.bundle`), the self-describing folders models travel in."""
