"""In-memory stand-ins for what the services reach through the unit of work."""
