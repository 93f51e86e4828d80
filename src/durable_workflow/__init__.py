"""Durable Workflow for Python: durable execution engine, server and SDK."""
