"""Runtimes behind small interfaces: the LLM, the embedder, and the model registry.
Heavy libraries (torch, llama_cpp, sentence_transformers) are imported lazily."""
