"""No tables of its own: the console works through the domain services.

The module exists so Django sends the console's `post_migrate` signal (it skips apps
without a models module), which keeps the role groups in step (console/roles.py).
"""
