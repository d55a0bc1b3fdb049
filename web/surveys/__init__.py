"""The surveys area of the back-office."""
