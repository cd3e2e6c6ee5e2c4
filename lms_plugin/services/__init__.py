"""Services: the glue between the pure packages and storage. Views call exactly one service method."""
