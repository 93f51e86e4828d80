"""The Durable Workflow server: protocol surface (``api``), decisions (``engine``), persistence (``store``)."""
