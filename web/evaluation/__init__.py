"""The evaluation area of the back-office."""
