"""Identity resolution: one customer_id per real person, stable from run to run.

The steps, each a small module working on one DuckDB connection (no dbt import, so
the dbt Python model, the CLI, the tests and the benchmark all call the same code):

1. `prepare`: identity inputs -> matching form, with the guardrails applied
   (blocked values nulled, shared-household emails kept out of linking).
2. `links`: deterministic links (same strong id, same email, email SHA-256 or phone;
   an email typed once a keystroke off the one known address near it).
3. `model`: Splink 5 probabilistic links, predicted with the JSON model in
   `cdp/identity/model/` (skipping the pairs step 2 already joined); `train` re-estimates it.
4. `resolve`: connected components (scipy, one pass) over both kinds of links above the
   threshold, with the cluster-size cap.
5. `stable_ids`: customer ids carried over from the previous run; merges, splits
   and new ids as changelog rows.

`resolve.resolve_identities` runs 1-5; `evaluate` scores a resolution against truth and
sorts the records it left apart by what they carry (`split_off_breakdown`).
"""
