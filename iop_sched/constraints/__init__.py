"""One module per constraint family; each exposes `add(problem, model, variables, eligibility) -> [ObjectiveTerm]`."""
