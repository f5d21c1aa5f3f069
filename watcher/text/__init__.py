"""The text toolkit of matching and framing: tokens, sentences, stopwords, normalisation and language."""
