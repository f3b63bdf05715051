"""fraud-detector: deterministic, rule-based risk scores (`scoring_rules.py` documents every rule)."""
