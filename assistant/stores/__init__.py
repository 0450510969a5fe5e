"""Where the assistant keeps things outside SQL: the sentence-embedding model, the Chroma client and
the example-decision store built on both."""
