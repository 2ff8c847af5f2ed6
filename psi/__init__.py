"""Private checks and lead collision by private set intersection (issue 15): see README, "Private checks"."""
