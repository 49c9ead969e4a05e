"""Built-in step types. Each module declares its types (registered through
the `rb.step_types` entry points in pyproject.toml, exactly like a plugin)."""
