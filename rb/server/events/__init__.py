"""Live events of executions: in-memory feeds and their Server-Sent Events form."""
