"""Evidence stage: open a source read-only and find the Windows system volume(s) on it."""
