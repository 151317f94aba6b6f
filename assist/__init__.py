"""热线坐席助手: real-time agent assist for 12345 government service hotlines."""

__version__ = "0.1.0"
