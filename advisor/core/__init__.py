"""The pure core: questionnaire, knowledge, scoring and decision analysis. No files, clock, subprocesses or frameworks."""
