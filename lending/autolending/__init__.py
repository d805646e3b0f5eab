"""Auto-lending: a lender's idle credit lent, opt-in, to fundraising loans that match their criteria."""
