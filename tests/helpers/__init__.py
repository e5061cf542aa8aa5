"""What the suites share: plain functions, classes and constants, one module per subject.

Fixtures live in ``conftest.py`` files; test modules import from here, never from each other.
"""
