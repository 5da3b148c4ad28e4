"""Device discovery, offload planning and the KV state cache (grows with the LLM runtime
issue). Imports nothing of ours."""
