"""A small Click CLI: groups, aliases, flags, failures and a crash, to instrument."""
