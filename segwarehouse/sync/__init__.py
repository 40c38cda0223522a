"""Reverse sync: push each segment's net changes since the last acknowledged run to messaging tools.

records.py     what flows from the warehouse to a destination (Change, Subscription, Outcome)
http.py        one HTTP request with the destination's rate limit, retries and backoff
destinations/  one small module per destination type: limits, identifier, endpoints, partial failures
"""
