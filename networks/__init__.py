"""Agent networks: linking leads into networks (linking.py), keeping them current (flows.py), drawing them (drawing.py) and reading them as a principal may (reads.py)."""
