"""`python -m hastack drill`: the seed's failure scenarios against a live stack."""
