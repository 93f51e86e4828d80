"""The engine decides: one method and one store transaction per operation. No HTTP, no SQL."""
