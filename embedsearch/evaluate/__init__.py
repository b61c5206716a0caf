"""`embedsearch eval`: retrieval quality and latency on BEIR-format data sets.

beir.py reads the layout, metrics.py scores rankings, runner.py runs a data set through the Index.
"""
