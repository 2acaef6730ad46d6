"""Servers on loopback: the real production server and stand-ins that play a part."""
