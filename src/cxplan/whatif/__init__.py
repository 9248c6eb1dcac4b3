"""What-if analysis for consultants: variants, comparison, frontiers, explanations, sensitivity.

- `variants`: `extends:` in scenario files (a variant overrides a base scenario).
- `engine`: one built model and one HiGHS session, re-solved with changed limits or with
  improvements forced in or out; every reported number is re-evaluated exactly.
- `frontier`: expected gain against budget or a team's capacity, one plan per point.
- `marginal`: what one more unit of each limit is worth, and which limits bind.
- `explain`: why an improvement is in or out of the plan, with the numbers.
- `sensitivity`: how far costs, failure reductions and failure probabilities may move
  before the plan changes.
- `compare`: several scenarios (variants) side by side.
- `render`: SVG charts and self-contained HTML pages for the commands above.

Importing this package is cheap (no numpy/PuLP/HiGHS): `cxplan.validate` needs `variants`.
"""
