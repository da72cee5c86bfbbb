"""The multilingual speech embedding: a word classifier whose penultimate layer is the embedding."""
