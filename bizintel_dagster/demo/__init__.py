"""The embedded demo business: reference data (``reference``) and a deterministic
generator of landing-zone files (``generator``) that follow docs/raw_contract.md.

Nothing in the pipeline imports this package; it exists so that a fresh clone has
realistic data, with known defects, to run every asset and check against.
"""
