"""The application: commands and the one path that writes events, tokens, people, the seed."""
