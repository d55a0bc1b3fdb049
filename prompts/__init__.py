"""Data, not code: what the bot says per language, the thème taxonomy, ready-made surveys.

Editable by a non-developer. `bots.prompts` loads and validates these files.
"""
