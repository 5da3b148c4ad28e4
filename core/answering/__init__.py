"""Answering from retrieved memories with the local model."""
