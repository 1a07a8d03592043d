"""Evaluation: retrieval recall/MRR per stage, SQuAD EM/F1, abstention, citations, latency (`python -m eval`)."""
