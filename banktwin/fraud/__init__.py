"""Real-time fraud engine: streaming features, declarative rules, scoring."""
