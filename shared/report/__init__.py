"""What people read: statistics over rounds, the JSON documents, tables and pyperf files."""
