"""Identity resolution: one customer_id per real person, stable from run to run.

The configuration (what is compared and how, blocking, threshold, guardrails) is the dbt
var `identity`, read by `config`; `comparisons` turns it into Splink settings for the
engine in use, with the trained numbers of the model JSON (CDP_IDENTITY_MODEL).

The steps, each a small module working on one DuckDB connection (no dbt import, so
the dbt Python model, the CLI, the tests and the benchmark all call the same code):

1. `prepare`: identity inputs (and staging match fields) -> matching form, with the
   guardrails applied (blocked values nulled, shared-household emails and phones kept out
   of linking).
2. `links`: deterministic links (same strong id, same email, email SHA-256 or phone;
   an email typed once a keystroke off the one known address near it, with a field agreeing).
3. `model`: Splink 5 probabilistic links (skipping the pairs step 2 already joined);
   `train_model` re-estimates the numbers per deployment.
4. `resolve`: the first-name and birth-date guardrails, which only person-level evidence
   overrules, then connected components (scipy, one pass) with the cluster-size cap.
5. `stable_ids`: customer ids carried over from the previous run; merges, splits
   and new ids as changelog rows.
6. `explain`: each linked record's deciding link as JSON; on demand, why two records are apart.

`resolve.resolve_identities` runs 1-6; `evaluate` scores a resolution against truth and
sorts the records it left apart by what they carry (`split_off_breakdown`).
"""
