"""The double-entry ledger: accounts, journals and transfers. The only code that writes money rows."""
