"""Reports: render the pipeline's facts for people (text) and for tools (JSON)."""
