"""The ``encephagen`` command line: one small module per command."""
