"""The simulated screens: the three taught kinds and the foreign screens."""
