"""Shipped search spaces (YAML). Packaged as data so `automl spaces list` works after `pip install`."""
