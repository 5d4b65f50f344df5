"""Does not parse."""
def register(session)
    pass
