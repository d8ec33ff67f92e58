"""HTTP plumbing shared by the project's servers (the review app and the schema registry)."""
