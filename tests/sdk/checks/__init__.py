"""The steps of conformance.py, one module per API area."""
