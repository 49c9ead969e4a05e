"""`rb serve`: runbooks over HTTP — REST, GraphQL, live event streams, metrics.

The server is one more front end on the core the CLI uses: it finds
runbooks, runs them in a fixture or live world through
the run service (`rb.service`), and records them in the same store. Runs happen in
a bounded pool of worker threads, each on its own event loop, so the
server's loop only ever waits.
"""
