"""Evidence: recordings uploaded by the edge, kept on a segment store, exported as signed
bundles, and deleted on schedule by the retention policy.

Modules: ``config`` (settings), ``manifest`` (the edge's manifest, parsed), ``store`` (the
segment store interface and the local folder), ``uploads`` (the resumable upload),
``flights`` (flight log and track), ``bundle`` (export), ``verify`` (offline check),
``release`` (the redacted release copy), ``retention`` (the scheduled deletions).
"""
