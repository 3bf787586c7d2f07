"""Pure billing domain: money, inputs, rules. No I/O, no clock, no environment."""
