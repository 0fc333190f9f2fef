"""The producing service: its database, publishers and couplings."""
