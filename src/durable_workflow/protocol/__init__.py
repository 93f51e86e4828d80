"""The wire contract shared by the server and the SDK: pure data, no I/O.

Nothing in this package imports from the rest of ``durable_workflow``.
"""
