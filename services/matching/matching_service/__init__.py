"""The matching service: who takes part, and the weekly rounds that pair them."""
