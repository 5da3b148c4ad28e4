"""Runtimes behind small interfaces: the LLM, the embedder, and the model registry.
Heavy libraries (torch, llama_cpp, sentence_transformers) are imported lazily."""

from models.offline import force_offline

force_offline()  # before torch, transformers or chromadb can be imported
