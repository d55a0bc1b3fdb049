"""The admin area of the back-office."""
