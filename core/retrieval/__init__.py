"""The read path's search: query analysis, then hybrid retrieval."""
