"""Layer 4, optimization: the exact MILP, HiGHS sessions, starts, infeasibility
explanations, objective sequences and the pipeline for plans and roadmaps."""
