"""Alert policy (who hears what, when) and message rendering."""
