"""Collectors: one module per artefact family; each turns raw artefacts into facts and gaps."""
