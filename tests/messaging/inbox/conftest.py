"""The Cloud API number on the sandbox, its credits and the Graph sandbox, as the 24-hour
window's tests set them up."""

from ..numbers.test_customer_window import cloud_number, credits, graph

__all__ = ["cloud_number", "credits", "graph"]
