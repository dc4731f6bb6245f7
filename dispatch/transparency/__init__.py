"""Public transparency: the flight register and the AI register, served without login."""
