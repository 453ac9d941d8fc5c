"""What a drill writes down (timeline, audit trail, backup records); imports only support."""
