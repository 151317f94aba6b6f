"""Helpers shared by the tests: servers, fakes, signals, sample data and the types of fixtures.

Tests import them as ``from tests.support.<module> import ...``; fixtures stay in the ``conftest.py``
of the folder whose tests use them, and no test module imports another test module or a conftest.
"""
