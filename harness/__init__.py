"""crosswire: a cross-language IPC interop harness.

Modules, one concept each: schema (the wire schema), values (the value model), codec (the
reference codec), textform (values as contract text), vectors (test cases and golden bytes),
peers (discovery and build), driver (a running peer), transports/ (endpoints), matrix (cells
and the session that runs them), diagnose (where values and bytes differ), report (tables and
JSON), plugin (pytest), cli (`python -m harness`).
"""
__version__ = "0.1.0"
