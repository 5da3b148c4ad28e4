"""Export and import: the whole store (or part of it) as one archive, optionally sealed
with a passphrase (format.py the members and limits, container.py the tar.gz, sealing.py
the AES-GCM chunks, export.py, verify.py and import_.py the two directions)."""
