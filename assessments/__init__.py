"""The assessment engine: attempts, answers, scoring and the pass rule. Pure Python, no Flask, no database."""
