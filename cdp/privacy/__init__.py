"""Privacy: the right to be forgotten (`cdp forget`) and the right of access (`cdp export-person`).

- `cdp.privacy.suppression`: the hashes of forgotten people's identifiers and the one matcher
  that finds them in rows; ingest uses it to keep a forgotten person out of later deliveries.
- `cdp.privacy.person`: who a request is about (identifiers -> customers -> all their identifiers).
- `cdp.privacy.forget`: deletes the person everywhere the warehouse and its folders hold them.
- `cdp.privacy.outside`: the places next to the warehouse file (exports, run logs, dlt's folder).
- `cdp.privacy.access`: everything cdp holds about one person, as one JSON document.

Kept light: ingest imports `cdp.privacy.suppression`, which imports nothing of ingest.
"""
