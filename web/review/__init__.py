"""The review area of the back-office."""
