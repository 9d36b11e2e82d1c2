"""How accurate brandhound is: each detector and the extractor measured on labelled data, beside peers.

Two kinds of ground truth: the sandbox web brandhound generates (``evaluation.sandbox``) and
public real-world corpora assembled from sources nobody here wrote (``evaluation/corpora/``,
one module per capability). This package is test and evaluation infrastructure: production
code never imports it.
"""
