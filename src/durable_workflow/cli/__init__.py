"""The ``dw`` command line."""
