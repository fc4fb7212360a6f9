"""Active/standby: two monitors, one PostgreSQL lease, one sender."""
