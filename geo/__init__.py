"""PPAP Atlas's library: boundaries, the household data contract, the sample generator and the
aggregation engine. Pure Python: nothing here imports Streamlit (``tests/test_architecture.py``).

Run ``python -m geo --help`` for the command line.
"""

__version__ = "0.1.0"
