"""The run service: one run from request to result, for every front end.

The CLI, the server, acceptance packs, replay and drift build a
`RunRequest` (rb.service.request) and hand it to `execute`
(rb.service.runner); stored runs come back as `Execution` records
(rb.store.records) through rb.service.runs. Nothing here prints: callers
render what they get back. Modules are imported by name (no re-exports
here) so that `rb validate` loads only the part it uses.
"""
