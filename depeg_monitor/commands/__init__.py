"""One module per CLI command, each with run(args) -> exit code; its arguments are declared in
depeg_monitor/cli.py, which imports a command's module only to run it.

This package's own import stays empty: every command module imports it first.
"""
