"""Tests of the sim vehicle: its logic, its MAVLink, MAVSDK against it, and PX4 beside it."""
