"""Layer 2, the model's meaning: the exact Markov evaluator, what a criterion is, the
selection and schedule rules, and the result objects. No plugins, no solver."""
