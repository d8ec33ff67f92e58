"""The Client360 read model: facts from accepted artifacts and applied graph changes, snapshots
rebuilt per client, published as Client360Snapshot artifacts."""
