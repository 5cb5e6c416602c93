"""What each path does to Python values: the corpus, your own values, and the table of outcomes."""
