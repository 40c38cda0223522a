"""The typed segment model and its validation."""
