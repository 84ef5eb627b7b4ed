"""Network-namespace lab: builds bridges, veths and hosts for the demo, the tests and the
benchmarks, and tears them down again. Only ever touches namespaces it created itself.
"""
