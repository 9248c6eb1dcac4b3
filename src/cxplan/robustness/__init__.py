"""Plans under uncertain inputs (`cxplan robust`): draws of a scenario's distributions, the
exact optimal plan of every draw, the nominal plan's gain and regret over them, and a
robust plan solved as one MILP over the sample."""
