"""Knowledge stage: load and validate the declarative profiles under ``profiles/`` (TOML, tomllib)."""
