"""Bridges to other tools: SONATA (NEST and other simulators), Brian2, and connectomes nobody here wrote.

Each module turns an encephagen object into another tool's form or back; none of them is
imported by the core stages, and each imports its optional peer (libsonata, nest, brian2)
inside the function that needs it.
"""
