"""The graph committer: applies approved changes to the canonical client-graph tables."""
