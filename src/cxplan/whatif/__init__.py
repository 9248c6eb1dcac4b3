"""Layer 5, what-if analysis for consultants: frontiers, explanations, sensitivity, comparison.

- `engine`: one built model and one HiGHS session, re-solved with changed limits or with
  improvements forced in or out; every reported number is re-evaluated exactly.
- `frontier`: expected gain against budget or a team's capacity, one plan per point.
- `marginal`: what one more unit of each limit is worth, and which limits bind.
- `explain`: why an improvement is in or out of the plan, with the numbers.
- `sensitivity`: how far costs, failure reductions and failure probabilities may move
  before the plan changes.
- `compare`: several scenarios (variants) side by side.

Variants (`extends:`) are read with the scenario (`cxplan.scenario.variants`); the pages
and charts of these commands are drawn by `cxplan.report.whatif`.
"""
