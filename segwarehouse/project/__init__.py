"""Reading a project from disk: YAML with line numbers, Jinja, the project file, profiles."""
