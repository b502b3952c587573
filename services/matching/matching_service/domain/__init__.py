"""Pure matching logic: who meets whom, with no I/O."""
