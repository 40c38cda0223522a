"""Local fake vendor servers, one module per destination type (tests/fakes/<type>.py).

Each module defines, so that end-to-end sync tests can run against every destination alike:

    TYPE = "customerio"                      # the destination type it fakes
    LIST = "42"                              # a list id the fake accepts (`list:` of a subscription)
    def make_fake(faults=None) -> FakeServer # a fresh server with its own state (not started)
    def settings(base_url) -> dict           # destination settings pointing at it (test credentials)
    def members(fake, list_id) -> set[str]   # identifiers in that list, per the fake's own state
"""
