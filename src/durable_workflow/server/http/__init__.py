"""The HTTP adapter: Starlette in front of ``Api.dispatch``; no protocol logic lives here."""
