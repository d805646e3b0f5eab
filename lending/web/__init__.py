"""Pages for people: the home page and the lender's wallet (the dashboard grows here)."""
