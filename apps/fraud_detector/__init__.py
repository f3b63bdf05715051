"""fraud-detector: deterministic, rule-based risk scores (`rules.py` documents every rule)."""
