"""A helper module on the plugin path, with no register function."""
GREETING = "hello"
