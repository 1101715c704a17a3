"""Put on the Home Assistant process's PYTHONPATH: its sitecustomize guards the network."""
