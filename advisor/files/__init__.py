"""Shells that read the disk for the core: knowledge files and their cache, questionnaire files."""
