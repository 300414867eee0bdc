"""Byte parsers that know nothing of the model: they read one artefact format and return plain values."""
