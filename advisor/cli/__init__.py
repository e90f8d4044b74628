"""The command-line shell: one module per command, output formats in formats/."""
