"""`velocity-stream dev`: the whole stack on one machine, seeded with a demo.

Starts the embedded broker, the registry, the topics, the gateway and the consumers (as child
processes), and the review app (in this process); see stack.py for the order and why.
"""
